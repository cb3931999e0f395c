/**
 * Which cases the LMC's audit export cannot build on its fast path (src/report/audit-sql.ts), as a
 * SQL condition on a row. The fast path copies stored values into CSV and JSON lines as they are;
 * a case that holds any value needing care (a CSV cell to quote or guard against formulas, reasons
 * that are not a JSON array, a time or confidence SQL cannot print as JavaScript does, a subject
 * that may hold an NHS number) is built on the exact path instead.
 *
 * The condition defines a partial index (migration 7), so SQLite itself keeps the list of such
 * cases at every insert and update: the export asks the index whether a range of cases holds one,
 * instead of testing ten values of every row of a million-case log (that test was a quarter of the
 * CSV export's time, issue 5). The index holds no case in a log the worker wrote, where every one
 * of these values is the product's own. Any text here is the index's definition: changing it needs
 * a new migration that drops and creates the index again (test/unit/report-audit-sql.test.ts checks
 * that the export's query uses it).
 */

/** 9999-12-31T23:59:59.999Z: up to here both datetime() and toISOString print four-digit years. */
export const ISO_MAX = 253402300799999;

/** The stored text columns the CSV fast path copies as they are. */
export const CSV_COPIED_TEXTS = [
  'status',
  'category',
  'action',
  'organisation',
  'from_address',
  'reply_to_address',
  'reply_message_id',
  'policy_version',
  'policy_hash',
  'message_id',
] as const;

export const AWKWARD_CASES_INDEX = 'cases_awkward_for_export';

const isoTime = (column: string): string => `(typeof(${column}) = 'integer' AND ${column} BETWEEN 0 AND ${ISO_MAX})`;

/**
 * A cell csvCell would quote (a quote, comma or line break) or guard (a formula's first character),
 * a NUL (GLOB stops at one; instr does not), or a BLOB.
 */
const csvCare = (column: string): string =>
  `${column} GLOB '*[",' || char(13, 10) || ']*' OR ${column} GLOB '[-=+@' || char(9, 13) || ']*' OR instr(${column}, char(0)) > 0 OR typeof(${column}) = 'blob'`;

/**
 * A subject that may hold an NHS number, which the export masks again (the worker masked it before
 * logging it): the digits of MAY_HOLD_NHS_NUMBER (src/report/audit-records.ts) without its test
 * for a digit either side, so it admits a few more subjects, never fewer.
 */
const DIGITS = (n: number): string => '[0-9]'.repeat(n);
const nhsNumberCandidate = [
  `subject GLOB '*${DIGITS(10)}*'`,
  `subject GLOB '*${DIGITS(3)} ${DIGITS(3)} ${DIGITS(4)}*'`,
  `subject GLOB '*${DIGITS(3)}-${DIGITS(3)}-${DIGITS(4)}*'`,
  'instr(subject, char(0)) > 0',
];

export const AWKWARD_FOR_EXPORT = [
  'id < 0',
  `NOT ${isoTime('received_at')}`,
  `NOT (replied_at IS NULL OR ${isoTime('replied_at')})`,
  'NOT (confidence BETWEEN 0 AND 1000000)',
  // Reasons are a JSON array with quoted names: CSV quotes them, with no formula guard.
  `typeof(reasons) <> 'text' OR NOT (reasons GLOB '[[]*"*')`,
  ...CSV_COPIED_TEXTS.map(csvCare),
  ...nhsNumberCandidate,
].join(' OR ');
