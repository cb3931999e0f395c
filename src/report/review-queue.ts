import type { Db } from '../store/open-database.js';
import type { CaseRow } from '../store/case-store.js';

/**
 * Cases waiting for a person: urgent first (they need a clinician today), then oldest first.
 * Dry-run cases are previews and wait for nobody.
 */
export function waitingCases(db: Db): CaseRow[] {
  return db
    .prepare(
      `SELECT * FROM cases WHERE status IN ('review', 'awaiting_approval') AND dry_run = 0
       ORDER BY urgent DESC, received_at ASC, id ASC`,
    )
    .all() as CaseRow[];
}
