import type { Db } from '../store/open-database.js';
import { caseReference } from '../store/case-store.js';
import { auditWhere, maskedSubject, roundedConfidence, type AuditFilter } from './audit-records.js';
import { csvCell } from './csv.js';

/**
 * The audit export's JSON Lines and CSV lines, built by SQLite in C: a million cases are a million
 * rows that JavaScript only joins and writes. Every expression here reproduces, byte for byte, what
 * auditJsonLine and auditCsvLine (audit-format.ts) print for the same row; the rare value SQL cannot
 * format the same way (a time before 1970 or after 9999, an odd confidence) is handed to a JavaScript
 * function that calls the very code those lines use; so is each subject, for NHS-number masking.
 * test/unit/report-audit-sql.test.ts compares the two over awkward rows.
 */

// A subject is masked again on the way out (the worker masks subjects before it logs them, in
// run-pass.ts; this is the second line of defence, and it stays on): maskedSubject per row, which
// tests one regular expression first; cheaper than the SQL GLOBs that could pick the candidates.

// 9999-12-31T23:59:59.999Z: up to here both strftime and toISOString print four-digit years.
const ISO_MAX = 253402300799999;

/**
 * new Date(ms).toISOString() in SQL for integer ms from 1970 to 9999: whole seconds to strftime
 * (exact for integers), milliseconds by printf. Earlier or odd values go to JavaScript.
 */
function isoTime(column: string): string {
  return (
    `CASE WHEN typeof(${column}) = 'integer' AND ${column} BETWEEN 0 AND ${ISO_MAX} ` +
    `THEN printf('%s.%03dZ', strftime('%Y-%m-%dT%H:%M:%S', ${column} / 1000, 'unixepoch'), ${column} % 1000) ` +
    `ELSE audit_iso(${column}) END`
  );
}

/**
 * String(roundedConfidence(c)) in SQL for 0 <= c <= 1e6: k = Math.round(c * 1000) (floor(x + 0.5),
 * except just under 0.5, where adding 0.5 rounds up to 1), printed as k / 1000 with %.15g: k has at
 * most 10 digits, so 15 significant digits give the exact decimal, trailing zeros dropped, as JavaScript prints it.
 */
const CONFIDENCE =
  `CASE WHEN typeof(confidence) IN ('real', 'integer') AND confidence BETWEEN 0 AND 1000000 ` +
  `THEN printf('%.15g', CASE WHEN confidence * 1000 < 0.5 THEN 0 ELSE CAST(confidence * 1000 + 0.5 AS INTEGER) END / 1000.0) ` +
  `ELSE audit_number(confidence) END`;

const CASE_ID = `CASE WHEN id >= 0 THEN printf('PCN-%06d', id) ELSE audit_case_id(id) END`;
const flag = (column: string): string => `CASE WHEN ${column} = 1 THEN 'true' ELSE 'false' END`;
const repliedIsNull = '(replied_at IS NULL OR replied_at = 0)';

/**
 * auditJsonLine in SQL. json_quote escapes as JSON.stringify does (the unit test checks).
 */
const JSON_LINE = concatLine([
  ['{"caseId":"%s"', CASE_ID],
  [',"messageId":%s', 'json_quote(message_id)'],
  [',"receivedAt":"%s"', isoTime('received_at')],
  [',"from":%s', 'json_quote(from_address)'],
  [',"organisation":%s', 'json_quote(organisation)'],
  [',"category":%s', 'json_quote(category)'],
  [',"action":%s', 'json_quote(action)'],
  [',"confidence":%s', CONFIDENCE],
  [',"status":%s', 'json_quote(status)'],
  [',"urgent":%s', flag('urgent')],
  [',"dryRun":%s', flag('dry_run')],
  [',"subject":%s', 'json_quote(audit_subject(subject))'],
  [',"replyTo":%s', 'json_quote(reply_to_address)'],
  [',"replyMessageId":%s', 'json_quote(reply_message_id)'],
  [',"repliedAt":%s', `CASE WHEN ${repliedIsNull} THEN 'null' ELSE '"' || ${isoTime('replied_at')} || '"' END`],
  [',"policyVersion":%s', 'json_quote(policy_version)'],
  [',"policyHash":%s', 'json_quote(policy_hash)'],
  [',"reasons":%s}\n', "coalesce(nullif(reasons, ''), '[]')"],
]);

/**
 * concat(text, argument, ...) from [text around a %s, argument] pairs: one call builds the line in one
 * buffer (a chain of || copies the growing line once per piece; printf's %s would stop at a NUL).
 */
function concatLine(pieces: ReadonlyArray<readonly [string, string]>): string {
  const literal = (text: string): string =>
    `'${text.replace(/'/g, "''")}'`.replace(/\n/g, "' || char(10) || '").replace(/\r/g, "' || char(13) || '").replace(/ \|\| ''/g, '');
  const parts: string[] = [];
  for (const [text, argument] of pieces) {
    const [before, after] = text.split('%s') as [string, string];
    if (before) parts.push(literal(before));
    parts.push(argument);
    if (after) parts.push(literal(after));
  }
  return `concat(${parts.join(', ')})`;
}

/** csvCell for a text column: empty for NULL, an apostrophe before a formula start, RFC 4180 quotes when needed. */
function csvText(column: string): string {
  // A GLOB that looks at the first character only (a class with '-' first holds the '-' itself).
  const guarded = `CASE WHEN ${column} GLOB '[-=+@' || char(9, 13) || ']*' THEN '''' || ${column} ELSE ${column} END`;
  const needsQuotes = `(instr(${column}, '"') > 0 OR instr(${column}, ',') > 0 OR instr(${column}, char(13)) > 0 OR instr(${column}, char(10)) > 0)`;
  return `CASE WHEN ${column} IS NULL THEN '' WHEN ${needsQuotes} THEN '"' || replace(${guarded}, '"', '""') || '"' ELSE ${guarded} END`;
}

/** auditCsvLine in SQL, columns in AUDIT_COLUMNS order. A time in range never needs quoting or the formula guard. */
const CSV_LINE = concatLine(
  [
  CASE_ID,
  `CASE WHEN typeof(received_at) = 'integer' AND received_at BETWEEN 0 AND ${ISO_MAX} THEN ${isoTime('received_at')} ELSE audit_csv_iso(received_at) END`,
  csvText('status'),
  csvText('category'),
  csvText('action'),
  flag('urgent'),
  csvText('organisation'),
  csvText('from_address'),
  'audit_csv_subject(subject)',
  CONFIDENCE,
  csvText('reply_to_address'),
  csvText('reply_message_id'),
  `CASE WHEN ${repliedIsNull} THEN '' WHEN typeof(replied_at) = 'integer' AND replied_at BETWEEN 0 AND ${ISO_MAX} THEN ${isoTime('replied_at')} ELSE audit_csv_iso(replied_at) END`,
  flag('dry_run'),
  csvText('policy_version'),
  csvText('policy_hash'),
  csvText('message_id'),
  csvText('reasons'),
  ].map((argument, i, all) => [i === all.length - 1 ? '%s\r\n' : '%s,', argument] as const),
);

/** The JavaScript the SQL falls back on for rare values: the same functions the row formatters call. */
function registerFallbacks(db: Db): void {
  const options = { deterministic: true, varargs: false } as const;
  db.function('audit_iso', options, (ms: unknown) => new Date(ms as number).toISOString());
  db.function('audit_csv_iso', options, (ms: unknown) => csvCell(new Date(ms as number).toISOString()));
  db.function('audit_number', options, (value: unknown) => String(roundedConfidence(value as number)));
  db.function('audit_case_id', options, (id: unknown) => caseReference(id as number));
  db.function('audit_subject', options, (subject: unknown) => maskedSubject(subject as string | null));
  db.function('audit_csv_subject', options, (subject: unknown) => csvCell(maskedSubject(subject as string | null)));
}

/** The export's lines, oldest case first, each as SQLite printed it: the caller only writes them out. */
export function* auditLines(db: Db, format: 'json' | 'csv', filter: AuditFilter = {}): Generator<string> {
  registerFallbacks(db);
  const { where, params } = auditWhere(filter);
  const line = format === 'json' ? JSON_LINE : CSV_LINE;
  const statement = db.prepare(`SELECT ${line} FROM cases ${where} ORDER BY received_at, id`).pluck();
  yield* statement.iterate(params) as IterableIterator<string>;
}

