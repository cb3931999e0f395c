import type { Db } from './open-database.js';

/**
 * A lease in the database that only one worker can hold at a time. A worker that dies keeps it
 * only until it expires (stale-lock recovery without a lock file); the holder renews it while working.
 */
export class Lease {
  constructor(
    private readonly db: Db,
    readonly name: string,
    readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** Take the lease if it is free, expired, or already ours. Returns the current holder when it is not. */
  acquire(now: number): { acquired: true } | { acquired: false; holder: string; expiresAt: number } {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT owner, expires_at FROM lease WHERE name = ?').get(this.name) as
        | { owner: string; expires_at: number }
        | undefined;
      if (row && row.owner !== this.owner && row.expires_at > now) {
        return { acquired: false as const, holder: row.owner, expiresAt: row.expires_at };
      }
      this.db
        .prepare('INSERT INTO lease (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at')
        .run(this.name, this.owner, now + this.ttlMs);
      return { acquired: true as const };
    }).immediate();
  }

  /** Extend our lease; false when another worker has taken it (ours had expired). */
  renew(now: number): boolean {
    const result = this.db
      .prepare('UPDATE lease SET expires_at = ? WHERE name = ? AND owner = ?')
      .run(now + this.ttlMs, this.name, this.owner);
    return result.changes === 1;
  }

  release(): void {
    this.db.prepare('DELETE FROM lease WHERE name = ? AND owner = ?').run(this.name, this.owner);
  }
}
