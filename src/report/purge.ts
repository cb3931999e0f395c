import type { Db } from '../store/open-database.js';

/**
 * Retention: remove the words of old cases (subjects, excerpts, bodies, replies, notes) and keep
 * the anonymous columns the reports count (dates, organisation, category, status, policy).
 * Cases still waiting for a person or mid-send are never purged: someone still needs their text.
 */
const PURGEABLE = "status NOT IN ('review', 'awaiting_approval', 'sending', 'decided')";

export function countPurgeable(db: Db, cutoff: number): number {
  return (db.prepare(`SELECT COUNT(*) AS n FROM cases WHERE received_at < ? AND purged_at IS NULL AND ${PURGEABLE}`).get(cutoff) as { n: number }).n;
}

export function purgeOlderThan(db: Db, cutoff: number, now: number): number {
  return db.transaction(() => {
    db.prepare(
      `UPDATE case_events SET note = NULL WHERE note IS NOT NULL AND case_id IN (SELECT id FROM cases WHERE received_at < ? AND purged_at IS NULL AND ${PURGEABLE})`,
    ).run(cutoff);
    const result = db
      .prepare(
        `UPDATE cases SET subject = NULL, excerpt = NULL, body = NULL, from_name = NULL, reply_subject = NULL, reply_text = NULL,
           reply_html = NULL, smtp_response = NULL, note = NULL, purged_at = ?
         WHERE received_at < ? AND purged_at IS NULL AND ${PURGEABLE}`,
      )
      .run(now, cutoff);
    return result.changes;
  }).immediate();
}
