import type { Db } from '../store/open-database.js';
import { caseReference, type CaseRow } from '../store/case-store.js';
import { maskNhsNumbers } from '../core/nhs-number.js';

/** One case as the LMC's audit exports show it: no patient identifiers in full. */
export interface AuditRecord {
  caseId: string;
  messageId: string | null;
  receivedAt: string;
  from: string | null;
  organisation: string | null;
  category: string;
  action: string;
  confidence: number;
  status: string;
  urgent: boolean;
  dryRun: boolean;
  subject: string | null;
  replyTo: string | null;
  replyMessageId: string | null;
  repliedAt: string | null;
  policyVersion: string;
  policyHash: string;
  reasons: unknown[];
}

export interface AuditFilter {
  since?: number;
  until?: number;
  organisation?: string;
  category?: string;
  status?: string;
}

export function toAuditRecord(row: CaseRow): AuditRecord {
  return {
    caseId: caseReference(row.id),
    messageId: row.message_id,
    receivedAt: new Date(row.received_at).toISOString(),
    from: row.from_address,
    organisation: row.organisation,
    category: row.category,
    action: row.action,
    confidence: Math.round(row.confidence * 1000) / 1000,
    status: row.status,
    urgent: row.urgent === 1,
    dryRun: row.dry_run === 1,
    subject: row.subject === null ? null : maskNhsNumbers(row.subject),
    replyTo: row.reply_to_address,
    replyMessageId: row.reply_message_id,
    repliedAt: row.replied_at ? new Date(row.replied_at).toISOString() : null,
    policyVersion: row.policy_version,
    policyHash: row.policy_hash,
    reasons: JSON.parse(row.reasons) as unknown[],
  };
}

/** Cases matching the filter, oldest first, streamed so a million rows never sit in memory at once. */
export function* auditRows(db: Db, filter: AuditFilter = {}): Generator<CaseRow> {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.since !== undefined) {
    where.push('received_at >= @since');
    params.since = filter.since;
  }
  if (filter.until !== undefined) {
    where.push('received_at < @until');
    params.until = filter.until;
  }
  if (filter.organisation) {
    where.push('(organisation = @organisation COLLATE NOCASE OR organisation_id = @organisation COLLATE NOCASE)');
    params.organisation = filter.organisation;
  }
  if (filter.category) {
    where.push('category = @category');
    params.category = filter.category;
  }
  if (filter.status) {
    where.push('status = @status');
    params.status = filter.status;
  }
  const sql = `SELECT * FROM cases ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at, id`;
  yield* db.prepare(sql).iterate(params) as IterableIterator<CaseRow>;
}
