import type { Db } from '../store/open-database.js';
import { caseReference, type CaseRow } from '../store/case-store.js';
import { MAY_HOLD_NHS_NUMBER, maskNhsNumbers } from '../core/nhs-number.js';
import { hasColumn } from '../store/schema-info.js';

/** The columns an audit export reads: only these, so a million-case export skips bodies and traces. */
export type AuditSourceRow = Pick<
  CaseRow,
  | 'id'
  | 'message_id'
  | 'received_at'
  | 'from_address'
  | 'organisation'
  | 'category'
  | 'action'
  | 'confidence'
  | 'status'
  | 'to_person'
  | 'urgent'
  | 'dry_run'
  | 'subject'
  | 'reply_to_address'
  | 'reply_message_id'
  | 'replied_at'
  | 'policy_version'
  | 'policy_hash'
  | 'reasons'
>;

/** The columns the table format shows: a terminal view reads a third of the row. */
export type AuditTableRow = Pick<AuditSourceRow, 'id' | 'received_at' | 'status' | 'category' | 'urgent' | 'organisation' | 'subject'>;

const AUDIT_TABLE_COLUMNS = 'id, received_at, status, category, urgent, organisation, subject';

const auditSourceColumns = (toPerson: string): string => `id, message_id, received_at, from_address, organisation, category, action, confidence, status,
  ${toPerson} AS to_person, urgent, dry_run, subject, reply_to_address, reply_message_id, replied_at, policy_version, policy_hash, reasons`;

/**
 * The case log's column of why a case went to a person, or NULL for a log no worker of this version
 * has upgraded yet (a reporting command opens it read-only): its export then says null.
 */
export function toPersonColumn(db: Db): string {
  return hasColumn(db, 'cases', 'to_person') ? 'to_person' : 'NULL';
}

/**
 * One case as the LMC's audit exports show it: no patient identifiers in full. The stored
 * reasons are left out: they are JSON already, and the exports copy that text as it is.
 */
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
  /**
   * Why the case went to a person (src/core/why-to-person.ts: `urgent`, `sensitive:<rule>`,
   * `thresholds.secondRequest`, `category:<id>`, ...), kept after the person acts; null for a case
   * that never waited for one.
   */
  toPerson: string | null;
  urgent: boolean;
  dryRun: boolean;
  subject: string | null;
  replyTo: string | null;
  replyMessageId: string | null;
  repliedAt: string | null;
  policyVersion: string;
  policyHash: string;
}

export interface AuditFilter {
  since?: number;
  until?: number;
  organisation?: string;
  category?: string;
  status?: string;
}

export function toAuditRecord(row: AuditSourceRow): AuditRecord {
  return {
    caseId: caseReference(row.id),
    messageId: row.message_id,
    receivedAt: new Date(row.received_at).toISOString(),
    from: row.from_address,
    organisation: row.organisation,
    category: row.category,
    action: row.action,
    confidence: roundedConfidence(row.confidence),
    status: row.status,
    toPerson: row.to_person,
    urgent: row.urgent === 1,
    dryRun: row.dry_run === 1,
    subject: maskedSubject(row.subject),
    replyTo: row.reply_to_address,
    replyMessageId: row.reply_message_id,
    repliedAt: row.replied_at ? new Date(row.replied_at).toISOString() : null,
    policyVersion: row.policy_version,
    policyHash: row.policy_hash,
  };
}

export function roundedConfidence(confidence: number): number {
  return Math.round(confidence * 1000) / 1000;
}

/** The subject with NHS numbers masked; one MAY_HOLD_NHS_NUMBER test spares most subjects the masking pass. */
export function maskedSubject(subject: string | null): string | null {
  if (subject === null) return null;
  return MAY_HOLD_NHS_NUMBER.test(subject) ? maskNhsNumbers(subject) : subject;
}

/** WHERE clause and parameters for a filter, shared by auditRows and the export's ranges (audit-sql.ts); `more` adds conditions. */
export function auditWhere(filter: AuditFilter, more: readonly string[] = []): { where: string; params: Record<string, unknown> } {
  const where: string[] = [...more];
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
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** Cases matching the filter, oldest first, streamed so a million rows never sit in memory at once. */
export function auditRows(db: Db, filter?: AuditFilter): Generator<AuditSourceRow>;
export function auditRows(db: Db, filter: AuditFilter, columns: 'table'): Generator<AuditTableRow>;
export function* auditRows(db: Db, filter: AuditFilter = {}, columns: 'all' | 'table' = 'all'): Generator<AuditSourceRow | AuditTableRow> {
  const { where, params } = auditWhere(filter);
  const sql = `SELECT ${columns === 'table' ? AUDIT_TABLE_COLUMNS : auditSourceColumns(toPersonColumn(db))} FROM cases ${where} ORDER BY received_at, id`;
  yield* db.prepare(sql).iterate(params) as IterableIterator<AuditSourceRow>;
}
