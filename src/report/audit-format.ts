import type { CaseRow } from '../store/case-store.js';
import { toAuditRecord, type AuditRecord } from './audit-records.js';
import { csvRow } from './csv.js';

/** Audit columns in CSV order: the AuditRecord fields, with reasons as one JSON cell. */
export const AUDIT_COLUMNS: ReadonlyArray<keyof AuditRecord> = [
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
  'reasons',
];

/**
 * One JSON Lines record. The reasons column is already JSON in the database: it is spliced in
 * as text instead of being parsed and re-serialised, which halves the cost of a 1M-case export.
 */
export function auditJsonLine(row: CaseRow): string {
  const record = toAuditRecord({ ...row, reasons: '[]' });
  const json = JSON.stringify(record);
  return `${json.slice(0, json.length - '"reasons":[]}'.length)}"reasons":${row.reasons || '[]'}}\n`;
}

export function auditCsvHeader(): string {
  return csvRow(AUDIT_COLUMNS);
}

export function auditCsvLine(row: CaseRow): string {
  const record = toAuditRecord({ ...row, reasons: '[]' });
  const values = AUDIT_COLUMNS.map((column) => (column === 'reasons' ? row.reasons : record[column]));
  return csvRow(values);
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

/** One aligned line for a terminal; urgent cases carry an URGENT mark so they stand out. */
export function auditTableLine(row: CaseRow): string {
  const record = toAuditRecord({ ...row, reasons: '[]' });
  return tableLine([
    record.caseId,
    record.receivedAt.slice(0, 16).replace('T', ' '),
    record.status,
    `${record.urgent ? 'URGENT ' : ''}${record.category}`,
    record.organisation ?? '(not a listed hospital)',
    record.subject ?? '(purged)',
  ]);
}

function tableLine(cells: readonly string[]): string {
  return (
    cells
      .map((cell, i) => {
        const width = TABLE_COLUMNS[i]!.width;
        const flat = cell.replace(/\s+/g, ' ');
        const fitted = flat.length > width ? `${flat.slice(0, width - 1)}~` : flat;
        return i === cells.length - 1 ? fitted : fitted.padEnd(width);
      })
      .join('  ') + '\n'
  );
}
