import { caseReference } from '../store/case-store.js';
import { maskedSubject, roundedConfidence, toAuditRecord, type AuditRecord, type AuditSourceRow, type AuditTableRow } from './audit-records.js';
import { csvRow } from './csv.js';

/** Audit columns in CSV order: the AuditRecord fields, then the stored reasons as one JSON cell. */
export const AUDIT_COLUMNS: ReadonlyArray<keyof AuditRecord | 'reasons'> = [
  'caseId',
  'receivedAt',
  'status',
  'category',
  'action',
  'urgent',
  'organisation',
  'from',
  'subject',
  'confidence',
  'replyTo',
  'replyMessageId',
  'repliedAt',
  'dryRun',
  'policyVersion',
  'policyHash',
  'messageId',
  'toPerson',
  'reasons',
];

/**
 * One JSON Lines record, keys in AuditRecord order. Built by concatenation with JSON.stringify on
 * the strings only, and the reasons column (JSON already) spliced in as stored: parsing and
 * re-serialising objects is what made a million-case export take many seconds.
 */
export function auditJsonLine(row: AuditSourceRow): string {
  return (
    `{"caseId":"${caseReference(row.id)}","messageId":${jsonText(row.message_id)},"receivedAt":"${new Date(row.received_at).toISOString()}"` +
    `,"from":${jsonText(row.from_address)},"organisation":${jsonText(row.organisation)},"category":${JSON.stringify(row.category)}` +
    `,"action":${JSON.stringify(row.action)},"confidence":${roundedConfidence(row.confidence)},"status":${JSON.stringify(row.status)}` +
    `,"toPerson":${jsonText(row.to_person)}` +
    `,"urgent":${row.urgent === 1},"dryRun":${row.dry_run === 1},"subject":${jsonText(maskedSubject(row.subject))}` +
    `,"replyTo":${jsonText(row.reply_to_address)},"replyMessageId":${jsonText(row.reply_message_id)}` +
    `,"repliedAt":${row.replied_at ? `"${new Date(row.replied_at).toISOString()}"` : 'null'}` +
    `,"policyVersion":${JSON.stringify(row.policy_version)},"policyHash":${JSON.stringify(row.policy_hash)},"reasons":${row.reasons || '[]'}}\n`
  );
}

function jsonText(text: string | null): string {
  return text === null ? 'null' : JSON.stringify(text);
}

export function auditCsvHeader(): string {
  return csvRow(AUDIT_COLUMNS);
}

export function auditCsvLine(row: AuditSourceRow): string {
  const record = toAuditRecord(row);
  return csvRow(AUDIT_COLUMNS.map((column) => (column === 'reasons' ? row.reasons : record[column])));
}

const TABLE_COLUMNS = [
  { title: 'CASE', width: 10 },
  { title: 'RECEIVED (UTC)', width: 16 },
  { title: 'STATUS', width: 17 },
  { title: 'CATEGORY', width: 24 },
  { title: 'ORGANISATION', width: 28 },
  { title: 'SUBJECT', width: 50 },
] as const;

export function auditTableHeader(): string {
  return tableLine(TABLE_COLUMNS.map((c) => c.title));
}

/** One aligned line for a terminal; urgent cases carry an URGENT mark so they stand out. Reads only the AuditTableRow columns. */
export function auditTableLine(row: AuditTableRow): string {
  return tableLine([
    caseReference(row.id),
    new Date(row.received_at).toISOString().slice(0, 16).replace('T', ' '),
    row.status,
    `${row.urgent === 1 ? 'URGENT ' : ''}${row.category}`,
    row.organisation ?? '(not a listed hospital)',
    maskedSubject(row.subject) ?? '(purged)',
  ]);
}

function tableLine(cells: readonly string[]): string {
  return cells.map((cell, i) => tableCell(cell, TABLE_COLUMNS[i]!.width, i === cells.length - 1)).join('  ') + '\n';
}

/** One cell of auditTableLine: whitespace folded to one space, cut to the width with a '~', padded unless last. */
export function tableCell(cell: string, width: number, last: boolean): string {
  const flat = cell.replace(/\s+/g, ' ');
  const fitted = flat.length > width ? `${flat.slice(0, width - 1)}~` : flat;
  return last ? fitted : fitted.padEnd(width);
}
