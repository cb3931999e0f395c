import { hostname } from 'node:os';
import type { Db } from './open-database.js';

/**
 * True when `owner` names a process on this host (`...@<host> pid <n>`) that no longer exists:
 * a worker killed with SIGKILL cannot release its lease, and waiting out the TTL would make every
 * restart after a crash fail. A holder on another host, or one we cannot check, counts as alive.
 */
export function holderIsDeadLocalProcess(owner: string): boolean {
  const match = /@(\S+) pid (\d+)$/.exec(owner);
  if (!match || match[1] !== hostname()) return false;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

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
    private readonly holderIsDead: (owner: string) => boolean = holderIsDeadLocalProcess,
  ) {}

  /** Take the lease if it is free, expired, held by a dead process on this host, or already ours. Returns the current holder when it is not. */
  acquire(now: number): { acquired: true } | { acquired: false; holder: string; expiresAt: number } {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT owner, expires_at FROM lease WHERE name = ?').get(this.name) as
        | { owner: string; expires_at: number }
        | undefined;
      if (row && row.owner !== this.owner && row.expires_at > now && !this.holderIsDead(row.owner)) {
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
