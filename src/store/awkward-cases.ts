import type { Database } from 'better-sqlite3';
import { hasColumn } from './schema-info.js';

/**
 * Which cases the LMC's audit export cannot build on its fast path (src/report/audit-sql.ts), as a
 * SQL condition on a row. The fast path copies stored values into CSV and JSON lines as they are;
 * a case that holds a value needing care (a CSV cell to quote or guard against formulas, reasons
 * that are not a JSON array, a time or confidence SQL cannot print as JavaScript does) is built on
 * the exact path instead.
 *
 * The condition defines a partial index (migration 7), so SQLite itself keeps the list of such
 * cases: the export asks the index whether a range of cases holds one, instead of testing ten
 * values of every row of a million-case log (that test was a quarter of the CSV export's time,
 * issue 5). The index holds no case in a log the worker wrote, where every one of these values is
 * the product's own.
 *
 * SQLite evaluates the condition when a case is logged, and again (old row and new) when an
 * update sets a column it names: about 2 µs each time. So it names only columns that are set once
 * (and the reply's recipient and Message-ID, set once more when the reply is rendered, and why the
 * case went to a person, set when it first waits for one), not the
 * status or the time of the reply, which every step of a case changes: the export checks those
 * itself (audit-sql.ts), as it does the subject for NHS numbers. Any text here is the index's
 * definition: a log whose index was made from other text gets it rebuilt the next time the worker
 * (or any command that writes) opens it (migrations.ts), and until then the export tests every
 * case itself. test/unit/report-audit-sql.test.ts checks that the export's query uses the index.
 */

/** 9999-12-31T23:59:59.999Z: up to here both datetime() and toISOString print four-digit years. */
export const ISO_MAX = 253402300799999;

/** The stored text columns the CSV fast path copies as they are, but for the status, which the export checks. */
export const CSV_COPIED_TEXTS = [
  'category',
  'action',
  'organisation',
  'from_address',
  'reply_to_address',
  'reply_message_id',
  'policy_version',
  'policy_hash',
  'message_id',
  'to_person',
] as const;

export const AWKWARD_CASES_INDEX = 'cases_awkward_for_export';

/**
 * A cell csvCell would quote (a quote, comma or line break) or guard (a formula's first
 * character), or a BLOB. json_quote escapes quotes and every control character (line breaks and
 * NUL among them) in one pass in C, so a value it lengthens by more than its two quotes holds one:
 * cheaper than a test per character (a backslash or a tab counts too, which only sends the case
 * the exact way). length() stops at a NUL, which json_quote escapes: such a value differs too.
 * Only functions of SQLite 3.40 (Debian 12's sqlite3 tool) appear here: a tool that does not know
 * a function in an index's condition cannot write to the table or check the file. Nor may any of
 * them fail on a value, which would fail the write of the case: json_quote refuses a BLOB, so it
 * is given the value as text (and a BLOB is awkward before it is asked).
 */
const csvCare = (column: string): string =>
  `typeof(${column}) = 'blob' OR length(json_quote(CAST(${column} AS TEXT))) <> length(${column}) + 2 OR ${column} GLOB '*,*' OR ${column} GLOB '[-=+@' || char(9, 13) || ']*'`;

const awkwardCondition = (copied: readonly string[]): string =>
  [
    'id < 0',
    `NOT (typeof(received_at) = 'integer' AND received_at BETWEEN 0 AND ${ISO_MAX})`,
    'NOT (confidence BETWEEN 0 AND 1000000)',
    // Reasons are a JSON array with quoted names: CSV quotes them, with no formula guard.
    `typeof(reasons) <> 'text' OR NOT (reasons GLOB '[[]*"*')`,
    ...copied.map(csvCare),
    // The CSV fast path tests the subject for quoting with GLOBs, which stop at a NUL.
    'instr(subject, char(0)) > 0',
  ].join(' OR ');

export const AWKWARD_FOR_EXPORT = awkwardCondition(CSV_COPIED_TEXTS);

const indexSql = (condition: string): string => `CREATE INDEX ${AWKWARD_CASES_INDEX} ON cases (received_at) WHERE ${condition}`;

/** The index as this version defines it, and as sqlite_master keeps its text. */
export const AWKWARD_CASES_INDEX_SQL = indexSql(AWKWARD_FOR_EXPORT);

/**
 * The index as migration 7 made it, before the log had a to_person column (migration 9): a log
 * upgraded from before 7 gets this one first, and then, once every migration has run, this
 * version's (migrations.ts keepAwkwardCasesIndexCurrent).
 */
const AWKWARD_BEFORE_TO_PERSON = awkwardCondition(CSV_COPIED_TEXTS.filter((column) => column !== 'to_person'));
export const AWKWARD_CASES_INDEX_SQL_OF_MIGRATION_7 = indexSql(AWKWARD_BEFORE_TO_PERSON);

/**
 * The condition that fits the log, and whether its index holds that condition: a log no worker of
 * this version has upgraded (a reporting command opens it read-only) has no to_person column, and
 * may have the index of migration 7.
 */
export function awkwardCasesCondition(db: Database): { condition: string; indexed: boolean } {
  const condition = hasColumn(db, 'cases', 'to_person') ? AWKWARD_FOR_EXPORT : AWKWARD_BEFORE_TO_PERSON;
  return { condition, indexed: storedAwkwardCasesIndexSql(db) === indexSql(condition) };
}

/** The awkward-cases index's text as the log keeps it in sqlite_master; undefined when it has none. */
export function storedAwkwardCasesIndexSql(db: Database): string | undefined {
  return db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(AWKWARD_CASES_INDEX) as string | undefined;
}

/** Whether the log holds the awkward-cases index as this version defines it. */
export function hasAwkwardCasesIndex(db: Database): boolean {
  return storedAwkwardCasesIndexSql(db) === AWKWARD_CASES_INDEX_SQL;
}
