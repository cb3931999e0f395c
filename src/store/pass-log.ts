import type { Db } from './open-database.js';

export interface PassCounts {
  fetched: number;
  replied: number;
  review: number;
  awaitingApproval: number;
  filed: number;
  ignored: number;
  tooOld: number;
  wouldReply: number;
  shadowed: number;
  alreadySeen: number;
  errors: number;
}

export function emptyCounts(): PassCounts {
  return { fetched: 0, replied: 0, review: 0, awaitingApproval: 0, filed: 0, ignored: 0, tooOld: 0, wouldReply: 0, shadowed: 0, alreadySeen: 0, errors: 0 };
}

export interface PassRow {
  id: number;
  started_at: number;
  finished_at: number | null;
  outcome: 'running' | 'ok' | 'failed';
  dry_run: number;
  counts: string | null;
  error: string | null;
}

/** One row per pass, for `status` and monitoring. */
export class PassLog {
  constructor(private readonly db: Db) {}

  start(now: number, dryRun: boolean): number {
    return Number(
      this.db.prepare("INSERT INTO passes (started_at, outcome, dry_run) VALUES (?, 'running', ?)").run(now, dryRun ? 1 : 0).lastInsertRowid,
    );
  }

  finish(id: number, now: number, outcome: 'ok' | 'failed', counts: PassCounts, error?: string): void {
    this.db
      .prepare('UPDATE passes SET finished_at = ?, outcome = ?, counts = ?, error = ? WHERE id = ?')
      .run(now, outcome, JSON.stringify(counts), error ?? null, id);
  }

  recent(limit: number): PassRow[] {
    return this.db.prepare('SELECT * FROM passes ORDER BY id DESC LIMIT ?').all(limit) as PassRow[];
  }
}
