import { isUtf8 } from 'node:buffer';
import type { Db } from '../store/open-database.js';
import { AWKWARD_CASES_INDEX, awkwardCasesCondition, ISO_MAX } from '../store/awkward-cases.js';
import { caseReference } from '../store/case-store.js';
import { tableCell as jsTableCell } from './audit-format.js';
import { MAY_HOLD_NHS_NUMBER } from '../core/nhs-number.js';
import { auditWhere, maskedSubject, roundedConfidence, toPersonColumn, type AuditFilter } from './audit-records.js';
import { rangeConditions, rangeParams, type KeyRange } from './audit-ranges.js';
import { csvCell } from './csv.js';

/**
 * The audit export's lines, built by SQLite in C: a million cases are a million rows that
 * JavaScript never sees one by one. Every expression here reproduces, byte for byte, what
 * auditJsonLine, auditCsvLine and auditTableLine (audit-format.ts) print for the same row; the rare
 * value SQL cannot format the same way (a time before 1970 or after 9999, an odd confidence) is
 * handed to a JavaScript function that calls the very code those lines use.
 * test/unit/report-audit-sql.test.ts compares the two over awkward rows.
 *
 * The lines of about RANGE_ROWS cases at a time (audit-ranges.ts) come back as one BLOB, joined by
 * group_concat: one Buffer per range that goes to stdout as it is, with no UTF-8 decoding into
 * JavaScript strings and encoding back (a million lines that way cost more than building them).
 */

// Each range is built on a fast path that copies the stored text as it is (CSV, table) or quotes
// it (JSON), unless it holds a case whose values need care, which takes the exact path (json_quote,
// the CSV cell rules, maskedSubject per row, auditTableLine) that the fast path only ever skips.
//
// For JSON and CSV, the partial index of awkward cases (src/store/awkward-cases.ts, kept by SQLite
// at every write) tells which ranges those are: a probe of the index per range. Testing ten values
// of every row instead was a quarter of the CSV export's time, and its text 100 MB of its memory.
// What the index leaves out, as every step of a case changes it, is checked here: the statuses in
// the log (a handful, from the status index) once per export, and the reply's time per row.
//
// The table's cells must be printable ASCII, which subjects often are not, so the index cannot
// say: the table's range query also returns the text its fast path copied, and one regular
// expression over it (in JavaScript, once per range) decides.
//
// A subject is masked again on the way out (the worker masks subjects before it logs them, in
// run-pass.ts; this is the second line of defence, and it stays on): every range's query returns
// its subjects joined by '|', tested with MAY_HOLD_NHS_NUMBER, the test maskedSubject itself makes
// first. '|' is neither a digit, a space nor a hyphen, so the joined text holds a candidate exactly
// when one of the subjects does. It is read as Latin-1, a character per byte: digits, spaces and
// hyphens are the same bytes in UTF-8, and every byte of any other character is 0x80 or more, no
// digit. (In the index, the same test cost more per case logged than here per case exported.)

const isIsoRange = (column: string): string => `typeof(${column}) = 'integer' AND ${column} BETWEEN 0 AND ${ISO_MAX}`;

/**
 * The pieces of a line's concat(): SQL expressions, each a text literal or a value. A value may
 * itself be several pieces, spread into the line's one concat() rather than built as a string of
 * its own and copied in.
 */
type Pieces = string | readonly string[];

/**
 * new Date(ms).toISOString() in SQL for integer ms from 1970 to 9999: whole seconds to datetime()
 * (exact for integers; cheaper than strftime with a format), milliseconds as the last three digits
 * of 1000 + ms % 1000 (cheaper than printf). On the fast path the time is known to be in that
 * range (awkward-cases.ts); on the exact path earlier or odd values go to JavaScript.
 */
const isoPieces = (column: string): string[] => [
  `replace(datetime(${column} / 1000, 'unixepoch'), ' ', 'T')`,
  "'.'",
  `substr(${column} % 1000 + 1000, 2)`,
  "'Z'",
];
const isoOrElse = (column: string, fallback: string): string =>
  `CASE WHEN ${isIsoRange(column)} THEN concat(${isoPieces(column).join(', ')}) ELSE ${fallback}(${column}) END`;

/**
 * String(roundedConfidence(c)) in SQL for 0 <= c <= 1e6: k = Math.round(c * 1000) (floor(x + 0.5),
 * except just under 0.5, where adding 0.5 rounds up to 1), printed as k / 1000 with %.15g: k has at
 * most 10 digits, so 15 significant digits give the exact decimal, trailing zeros dropped, as JavaScript prints it.
 * No typeof() test: text and blobs sort after every number, so BETWEEN is false for them already.
 */
function confidence(fast: boolean): string {
  const printed = "printf('%.15g', CASE WHEN confidence * 1000 < 0.5 THEN 0 ELSE CAST(confidence * 1000 + 0.5 AS INTEGER) END / 1000.0)";
  return fast ? printed : `CASE WHEN confidence BETWEEN 0 AND 1000000 THEN ${printed} ELSE audit_number(confidence) END`;
}

const caseId = (fast: boolean): string => (fast ? "printf('PCN-%06d', id)" : "CASE WHEN id >= 0 THEN printf('PCN-%06d', id) ELSE audit_case_id(id) END");
const flag = (column: string): string => `CASE WHEN ${column} = 1 THEN 'true' ELSE 'false' END`;
const repliedIsNull = '(replied_at IS NULL OR replied_at = 0)';

/**
 * auditJsonLine in SQL. json_quote escapes as JSON.stringify does (the unit test checks), on the
 * fast path too: copying the text between quotes measured no cheaper per value than json_quote.
 */
function jsonLine(fast: boolean, toPerson: string): string {
  const time = (column: string): Pieces => (fast ? isoPieces(column) : isoOrElse(column, 'audit_iso'));
  // The time of the reply is set after the index's test (awkward-cases.ts): both paths test its range.
  const replied = isoOrElse('replied_at', 'audit_iso');
  return concatLine([
    ['{"caseId":"%s"', caseId(fast)],
    [',"messageId":%s', 'json_quote(message_id)'],
    [',"receivedAt":"%s"', time('received_at')],
    [',"from":%s', 'json_quote(from_address)'],
    [',"organisation":%s', 'json_quote(organisation)'],
    [',"category":%s', 'json_quote(category)'],
    [',"action":%s', 'json_quote(action)'],
    [',"confidence":%s', confidence(fast)],
    [',"status":%s', 'json_quote(status)'],
    [',"toPerson":%s', `json_quote(${toPerson})`],
    [',"urgent":%s', flag('urgent')],
    [',"dryRun":%s', flag('dry_run')],
    [',"subject":%s', `json_quote(${fast ? 'subject' : 'audit_subject(subject)'})`],
    [',"replyTo":%s', 'json_quote(reply_to_address)'],
    [',"replyMessageId":%s', 'json_quote(reply_message_id)'],
    [',"repliedAt":%s', `CASE WHEN ${repliedIsNull} THEN 'null' ELSE '"' || ${replied} || '"' END`],
    [',"policyVersion":%s', 'json_quote(policy_version)'],
    [',"policyHash":%s', 'json_quote(policy_hash)'],
    // A fast range's reasons all start with '[' (awkward-cases.ts): none is NULL or empty.
    [',"reasons":%s}\n', fast ? 'reasons' : "CASE WHEN reasons IS NULL OR reasons = '' THEN '[]' ELSE reasons END"],
  ]);
}

/**
 * concat(text, argument, ...) from [text around a %s, pieces] pairs: one call builds the line in one
 * buffer (a chain of || copies the growing line once per piece; printf's %s would stop at a NUL).
 */
function concatLine(pieces: ReadonlyArray<readonly [string, Pieces]>): string {
  const parts: string[] = [];
  for (const [text, argument] of pieces) {
    const [before, after] = text.split('%s') as [string, string];
    if (before) parts.push(sqlText(before));
    parts.push(...(typeof argument === 'string' ? [argument] : argument));
    if (after) parts.push(sqlText(after));
  }
  return `concat(${parts.join(', ')})`;
}

/** A string literal in SQL; line ends as char() calls so the statement stays one line. */
function sqlText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`.replace(/\n/g, "' || char(10) || '").replace(/\r/g, "' || char(13) || '").replace(/ \|\| ''/g, '');
}

/**
 * csvCell for a text value: empty for NULL, an apostrophe before a formula start, RFC 4180 quotes
 * when needed. Whether it needs quotes is four instr() calls, or, for a value known to hold no NUL
 * (the fast path's subject: awkward-cases.ts), four GLOBs of one character, which SQLite runs as a
 * scan for that byte (a third cheaper; a GLOB stops at a NUL).
 */
function csvText(column: string, noNul = false): string {
  // A GLOB that looks at the first character only (a class with '-' first holds the '-' itself).
  const guarded = `CASE WHEN ${column} GLOB '[-=+@' || char(9, 13) || ']*' THEN '''' || ${column} ELSE ${column} END`;
  const needsQuotes = noNul
    ? `(${column} GLOB '*"*' OR ${column} GLOB '*,*' OR ${column} GLOB '*' || char(13) || '*' OR ${column} GLOB '*' || char(10) || '*')`
    : `(instr(${column}, '"') > 0 OR instr(${column}, ',') > 0 OR instr(${column}, char(13)) > 0 OR instr(${column}, char(10)) > 0)`;
  return `CASE WHEN ${column} IS NULL THEN '' WHEN ${needsQuotes} THEN '"' || replace(${guarded}, '"', '""') || '"' ELSE ${guarded} END`;
}

/**
 * auditCsvLine in SQL, columns in AUDIT_COLUMNS order. On the fast path the stored texts are
 * copied as they are (concat prints NULL as nothing, as csvCell does) and the reasons, a JSON
 * array, are quoted with their quotes doubled; the exact path applies csvText to each. The subject
 * (a sender's words: commas are common) takes csvText on both paths, so that it never sends a range
 * the exact way. A time in range never needs quoting or the formula guard.
 */
function csvLine(fast: boolean, toPerson: string): string {
  const text = fast ? (column: string): string => column : csvText;
  const replied = isoOrElse('replied_at', 'audit_csv_iso');
  const cells: Pieces[] = [
    caseId(fast),
    fast ? isoPieces('received_at') : isoOrElse('received_at', 'audit_csv_iso'),
    text('status'),
    text('category'),
    text('action'),
    flag('urgent'),
    text('organisation'),
    text('from_address'),
    fast ? csvText('subject', true) : 'audit_csv_subject(subject)',
    confidence(fast),
    text('reply_to_address'),
    text('reply_message_id'),
    `CASE WHEN ${repliedIsNull} THEN '' ELSE ${replied} END`,
    flag('dry_run'),
    text('policy_version'),
    text('policy_hash'),
    text('message_id'),
    // NULL in a log no worker of this version has upgraded (toPersonColumn): nothing to quote.
    text(toPerson),
  ];
  const reasons: readonly [string, Pieces] = fast ? ['"%s"\r\n', `replace(reasons, '"', '""')`] : ['%s\r\n', csvText('reasons')];
  return concatLine([...cells.map((cell) => ['%s,', cell] as const), reasons]);
}

// auditTableLine's column widths (TABLE_COLUMNS in audit-format.ts).
const WIDTHS = [10, 16, 17, 24, 28, 50] as const;

/**
 * One table cell of a value that is printable ASCII with no two spaces in a row (the range's check
 * shows it): then tableCell's whitespace folding changes nothing and lengths in characters are
 * lengths in UTF-16 units, so cutting to width - 1 plus '~', or padding with spaces, is what it does.
 */
function asciiCell(value: string, width: number, last: boolean): string {
  const fitted = last ? value : `substr(${value} || '${' '.repeat(width)}', 1, ${width})`;
  return `CASE WHEN length(${value}) > ${width} THEN substr(${value}, 1, ${width - 1}) || '~' ELSE ${fitted} END`;
}

/**
 * auditTableLine in SQL. The stored cells are fitted in SQL on the fast path, and by tableCell
 * itself (audit_table_cell) on the exact path: a call per cell, cheaper than building the row in
 * JavaScript. The table's own cells (case reference, time) are ASCII without spaces either way.
 */
function tableLine(fast: boolean): string {
  const cell = (value: string, i: number): string => {
    const last = i === WIDTHS.length - 1;
    return fast ? asciiCell(value, WIDTHS[i]!, last) : `audit_table_cell(${value}, ${WIDTHS[i]!}, ${last ? 1 : 0})`;
  };
  const cells = [
    // PCN-000001 to PCN-999999 fill the 10 characters exactly: nothing to fit.
    `CASE WHEN id BETWEEN 0 AND 999999 THEN printf('PCN-%06d', id) ELSE ${asciiCell(caseId(false), WIDTHS[0], false)} END`,
    // toISOString().slice(0, 16) with a space for the 'T': the first 16 characters of datetime(),
    // as wide as the column. The fallback's odd years are 16 characters too, but are fitted anyway.
    `CASE WHEN ${isIsoRange('received_at')} THEN substr(datetime(received_at / 1000, 'unixepoch'), 1, 16) ` +
      `ELSE ${asciiCell('audit_table_time(received_at)', WIDTHS[1], false)} END`,
    cell('status', 2),
    cell("CASE WHEN urgent = 1 THEN 'URGENT ' || category ELSE category END", 3),
    cell("coalesce(organisation, '(not a listed hospital)')", 4),
    cell(fast ? "coalesce(subject, '(purged)')" : "coalesce(audit_subject(subject), '(purged)')", 5),
  ];
  return concatLine(cells.map((value, i) => [i === cells.length - 1 ? '%s\n' : '%s  ', value] as const));
}

/**
 * The table's check, which the awkward-cases index cannot hold (subjects are often not ASCII):
 * what its fast path copies, joined by '|' and read as Latin-1 (a byte per character: no UTF-8
 * decoding), must be printable ASCII with no two spaces in a row (see asciiCell). Anything else (a
 * tab, a non-ASCII character that counts two UTF-16 units) is fitted by tableCell.
 */
const TABLE_CHECKED = "concat_ws('|', status, category, organisation, subject)";
const tablePlain = (checked: Buffer | null | undefined): boolean => {
  const text = checked?.toString('latin1') ?? '';
  return /^[\x20-\x7e]*$/.test(text) && !text.includes('  ');
};

export type AuditFormat = 'json' | 'csv' | 'table';

function lineSql(format: AuditFormat, fast: boolean, toPerson: string): string {
  if (format === 'json') return jsonLine(fast, toPerson);
  if (format === 'csv') return csvLine(fast, toPerson);
  return tableLine(fast);
}

/** The JavaScript the SQL falls back on for rare values: the same functions the row formatters call. */
function registerFallbacks(db: Db): void {
  const options = { deterministic: true, varargs: false } as const;
  db.function('audit_iso', options, (ms: unknown) => new Date(ms as number).toISOString());
  db.function('audit_csv_iso', options, (ms: unknown) => csvCell(new Date(ms as number).toISOString()));
  db.function('audit_table_time', options, (ms: unknown) => new Date(ms as number).toISOString().slice(0, 16).replace('T', ' '));
  db.function('audit_number', options, (value: unknown) => String(roundedConfidence(value as number)));
  db.function('audit_case_id', options, (id: unknown) => caseReference(id as number));
  db.function('audit_subject', options, (subject: unknown) => maskedSubject(subject as string | null));
  db.function('audit_csv_subject', options, (subject: unknown) => csvCell(maskedSubject(subject as string | null)));
  db.function('audit_table_cell', options, (text: unknown, width: unknown, last: unknown) => jsTableCell(text as string, width as number, last === 1));
}

/**
 * Cases per range: about 180 KB of JSON Lines, 120 KB of CSV. 512 measured 0.3 s faster than 128 on
 * a million cases (fewer queries), but a range is also what one awkward value sends the exact way.
 */
export const RANGE_ROWS = 256;

interface FastChunk {
  lines: Buffer | null;
  subjects?: Buffer | null;
  checked?: Buffer | null;
}

/**
 * The lines of one range of the export (null when no case in it passes the filter), on the fast
 * path unless the range holds a case that needs the exact one. A thread of the parallel export
 * (audit-parallel.ts) builds its share of ranges with its own connection and builder.
 */
export function auditRangeBuilder(db: Db, format: AuditFormat, filter: AuditFilter = {}): (range: KeyRange) => Buffer | null {
  registerFallbacks(db);
  const toPerson = toPersonColumn(db);
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  // A statement per path and kind of range (bounded, or open at the end), prepared when first used.
  const query = (range: KeyRange, fast: boolean): ReturnType<Db['prepare']> => {
    const key = `${fast} ${range.to === undefined}`;
    let statement = statements.get(key);
    if (!statement) {
      const { where } = auditWhere(filter, rangeConditions(range));
      const outer = ["CAST(group_concat(line, '') AS BLOB) AS lines"];
      const inner = [`${lineSql(format, fast, toPerson)} AS line`];
      if (fast) {
        outer.push("CAST(group_concat(subject, '|') AS BLOB) AS subjects");
        inner.push('subject');
        if (format === 'table') {
          outer.push("CAST(group_concat(checked, '|') AS BLOB) AS checked");
          inner.push(`${TABLE_CHECKED} AS checked`);
        }
      }
      // group_concat keeps the subquery's order: SQLite keeps a FROM subquery's ORDER BY when the
      // outer query aggregates with anything but count, min or max (the unit test holds it to that).
      statement = db.prepare(`SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM cases ${where} ORDER BY received_at, id)`);
      statements.set(key, statement);
    }
    return statement;
  };
  // CSV copies the status as it is: a status that is not plain text sends every range the exact way.
  const exactEverywhere = format === 'csv' && !distinctStatuses(db).every(isPlainCsvText);
  const probe = format === 'table' ? (): boolean => false : awkwardCaseProbe(db);
  const holdsAwkwardCase = (range: KeyRange): boolean => exactEverywhere || probe(range);
  const { params } = auditWhere(filter);
  return (range) => {
    const bound = { ...params, ...rangeParams(range) };
    if (!holdsAwkwardCase(range)) {
      const chunk = query(range, true).get(bound) as FastChunk;
      if (chunk.lines === null) return null;
      if ((format !== 'table' || tablePlain(chunk.checked)) && !MAY_HOLD_NHS_NUMBER.test(chunk.subjects?.toString('latin1') ?? '')) {
        return wellFormed(chunk.lines);
      }
    }
    const lines = (query(range, false).get(bound) as FastChunk).lines;
    return lines === null ? null : wellFormed(lines);
  };
}

/**
 * The statuses in the log, each found in the status index (a handful of lookups, not a scan): every
 * step of a case sets its status, so the awkward-cases index leaves it out (awkward-cases.ts).
 */
function distinctStatuses(db: Db): unknown[] {
  return db
    .prepare(
      `WITH RECURSIVE found(status) AS (SELECT min(status) FROM cases
         UNION ALL SELECT (SELECT min(status) FROM cases WHERE status > found.status) FROM found WHERE found.status IS NOT NULL)
       SELECT status FROM found WHERE status IS NOT NULL`,
    )
    .pluck()
    .all();
}

/** A text that csvCell prints as it is: nothing to quote, no formula start. */
const isPlainCsvText = (value: unknown): boolean => typeof value === 'string' && csvCell(value) === value;

/**
 * Whether a range holds a case of the awkward-cases index (any case: the filter's other conditions
 * are left out, which can only send a range the exact way needlessly). A log that the worker has
 * not opened since an upgrade lacks the index, or (opened by another version) may hold it with
 * another definition, which SQLite would refuse for this query: there the same question scans the
 * range's cases.
 */
export function awkwardCaseProbe(db: Db): (range: KeyRange) => boolean {
  const { condition, indexed } = awkwardCasesCondition(db);
  const statements = new Map<boolean, ReturnType<Db['prepare']>>();
  return (range) => {
    const open = range.to === undefined;
    let statement = statements.get(open);
    if (!statement) {
      const by = indexed ? `INDEXED BY ${AWKWARD_CASES_INDEX}` : '';
      statement = db.prepare(`SELECT 1 FROM cases ${by} WHERE (${condition}) AND ${rangeConditions(range).join(' AND ')} LIMIT 1`).pluck();
      statements.set(open, statement);
    }
    return statement.get(rangeParams(range)) !== undefined;
  };
}

/**
 * The lines as a text value would have printed them. A case log can hold bytes that are not UTF-8
 * (a lone surrogate the worker was handed is stored as its three bytes): read as text, each such
 * byte became U+FFFD, so a BLOB that fails the check (simdutf, gigabytes a second) is decoded and
 * encoded again the same way. Lines end in ASCII, so decoding a range at once decodes each line alike.
 */
function wellFormed(lines: Buffer): Buffer {
  return isUtf8(lines) ? lines : Buffer.from(lines.toString('utf8'), 'utf8');
}
