import { isUtf8 } from 'node:buffer';
import type { Db } from '../store/open-database.js';
import { caseReference } from '../store/case-store.js';
import { tableCell as jsTableCell } from './audit-format.js';
import { auditWhere, maskedSubject, MAY_HOLD_NHS_NUMBER, roundedConfidence, type AuditFilter } from './audit-records.js';
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

// Each range is first built on a fast path that copies the stored text as it is (CSV, table) or
// quotes it (JSON), and its query also returns, joined, the very text that path copied: one
// regular expression over that text (in JavaScript, once per range) proves that no value needed
// quoting, a formula guard, folding or fitting, or NHS-number masking. A range that fails is built again on the exact path (json_quote, the CSV
// cell rules, maskedSubject per row, auditTableLine), which the fast path only ever skips. Per
// row, those checks in SQL cost more than the lines: four instr() scans per CSV cell, a JavaScript
// call per subject, and a GLOB for ten digits more still (SQLite matches a leading character class
// by recursion at every position).
//
// A subject is masked again on the way out (the worker masks subjects before it logs them, in
// run-pass.ts; this is the second line of defence, and it stays on): the range's subjects joined by
// '|' are tested with MAY_HOLD_NHS_NUMBER, the test maskedSubject itself makes first. '|' is
// neither a digit, a space nor a hyphen, so the joined text holds a candidate exactly when one
// of the subjects does. It is read as Latin-1, a character per byte: digits, spaces and hyphens
// are the same bytes in UTF-8, and every byte of any other character is 0x80 or more, no digit.

// 9999-12-31T23:59:59.999Z: up to here both datetime() and toISOString print four-digit years.
const ISO_MAX = 253402300799999;
const isIsoRange = (column: string): string => `typeof(${column}) = 'integer' AND ${column} BETWEEN 0 AND ${ISO_MAX}`;

/**
 * new Date(ms).toISOString() in SQL for integer ms from 1970 to 9999: whole seconds to datetime()
 * (exact for integers; cheaper than strftime with a format), milliseconds as the last three digits
 * of 1000 + ms % 1000 (cheaper than printf). Earlier or odd values go to JavaScript.
 */
function isoTime(column: string): string {
  return (
    `CASE WHEN ${isIsoRange(column)} ` +
    `THEN concat(replace(datetime(${column} / 1000, 'unixepoch'), ' ', 'T'), '.', substr(${column} % 1000 + 1000, 2), 'Z') ` +
    `ELSE audit_iso(${column}) END`
  );
}

/**
 * String(roundedConfidence(c)) in SQL for 0 <= c <= 1e6: k = Math.round(c * 1000) (floor(x + 0.5),
 * except just under 0.5, where adding 0.5 rounds up to 1), printed as k / 1000 with %.15g: k has at
 * most 10 digits, so 15 significant digits give the exact decimal, trailing zeros dropped, as JavaScript prints it.
 * No typeof() test: text and blobs sort after every number, so BETWEEN is false for them already.
 */
const CONFIDENCE =
  `CASE WHEN confidence BETWEEN 0 AND 1000000 ` +
  `THEN printf('%.15g', CASE WHEN confidence * 1000 < 0.5 THEN 0 ELSE CAST(confidence * 1000 + 0.5 AS INTEGER) END / 1000.0) ` +
  `ELSE audit_number(confidence) END`;

const CASE_ID = `CASE WHEN id >= 0 THEN printf('PCN-%06d', id) ELSE audit_case_id(id) END`;
const flag = (column: string): string => `CASE WHEN ${column} = 1 THEN 'true' ELSE 'false' END`;
const repliedIsNull = '(replied_at IS NULL OR replied_at = 0)';

/**
 * auditJsonLine in SQL, with `subject` the subject as shown. json_quote escapes as JSON.stringify
 * does (the unit test checks); on the fast path too, as copying the text between quotes after a
 * check in JavaScript measured slower than json_quote itself.
 */
const jsonLine = (subject: string): string =>
  concatLine([
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
    [',"subject":%s', `json_quote(${subject})`],
    [',"replyTo":%s', 'json_quote(reply_to_address)'],
    [',"replyMessageId":%s', 'json_quote(reply_message_id)'],
    [',"repliedAt":%s', `CASE WHEN ${repliedIsNull} THEN 'null' ELSE '"' || ${isoTime('replied_at')} || '"' END`],
    [',"policyVersion":%s', 'json_quote(policy_version)'],
    [',"policyHash":%s', 'json_quote(policy_hash)'],
    [',"reasons":%s}\n', "CASE WHEN reasons IS NULL OR reasons = '' THEN '[]' ELSE reasons END"],
  ]);

/**
 * concat(text, argument, ...) from [text around a %s, argument] pairs: one call builds the line in one
 * buffer (a chain of || copies the growing line once per piece; printf's %s would stop at a NUL).
 */
function concatLine(pieces: ReadonlyArray<readonly [string, string]>): string {
  const parts: string[] = [];
  for (const [text, argument] of pieces) {
    const [before, after] = text.split('%s') as [string, string];
    if (before) parts.push(sqlText(before));
    parts.push(argument);
    if (after) parts.push(sqlText(after));
  }
  return `concat(${parts.join(', ')})`;
}

/** A string literal in SQL; line ends as char() calls so the statement stays one line. */
function sqlText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`.replace(/\n/g, "' || char(10) || '").replace(/\r/g, "' || char(13) || '").replace(/ \|\| ''/g, '');
}

/** csvCell for a text value: empty for NULL, an apostrophe before a formula start, RFC 4180 quotes when needed. */
function csvText(column: string): string {
  // A GLOB that looks at the first character only (a class with '-' first holds the '-' itself).
  const guarded = `CASE WHEN ${column} GLOB '[-=+@' || char(9, 13) || ']*' THEN '''' || ${column} ELSE ${column} END`;
  const needsQuotes = `(instr(${column}, '"') > 0 OR instr(${column}, ',') > 0 OR instr(${column}, char(13)) > 0 OR instr(${column}, char(10)) > 0)`;
  return `CASE WHEN ${column} IS NULL THEN '' WHEN ${needsQuotes} THEN '"' || replace(${guarded}, '"', '""') || '"' ELSE ${guarded} END`;
}

/**
 * auditCsvLine in SQL, columns in AUDIT_COLUMNS order. `text` makes a text column's cell: csvText,
 * or the value itself on the fast path (concat prints NULL as nothing, as csvCell does). The
 * subject (a sender's words: commas are common) and the reasons (JSON, always quoted) take csvText
 * on both paths, so that they never send a range the exact way. A time in range never needs
 * quoting or the formula guard.
 */
const csvLine = (text: (column: string) => string, subject: string): string =>
  concatLine(
    [
      CASE_ID,
      `CASE WHEN ${isIsoRange('received_at')} THEN ${isoTime('received_at')} ELSE audit_csv_iso(received_at) END`,
      text('status'),
      text('category'),
      text('action'),
      flag('urgent'),
      text('organisation'),
      text('from_address'),
      subject,
      CONFIDENCE,
      text('reply_to_address'),
      text('reply_message_id'),
      `CASE WHEN ${repliedIsNull} THEN '' WHEN ${isIsoRange('replied_at')} THEN ${isoTime('replied_at')} ELSE audit_csv_iso(replied_at) END`,
      flag('dry_run'),
      text('policy_version'),
      text('policy_hash'),
      text('message_id'),
      csvText('reasons'),
    ].map((argument, i, all) => [i === all.length - 1 ? '%s\r\n' : '%s,', argument] as const),
  );

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
  return concatLine(
    [
      // PCN-000001 to PCN-999999 fill the 10 characters exactly: nothing to fit.
      `CASE WHEN id BETWEEN 0 AND 999999 THEN printf('PCN-%06d', id) ELSE ${asciiCell(CASE_ID, WIDTHS[0], false)} END`,
      // toISOString().slice(0, 16) with a space for the 'T': the first 16 characters of datetime(),
      // as wide as the column. The fallback's odd years are 16 characters too, but are fitted anyway.
      `CASE WHEN ${isIsoRange('received_at')} THEN substr(datetime(received_at / 1000, 'unixepoch'), 1, 16) ` +
        `ELSE ${asciiCell('audit_table_time(received_at)', WIDTHS[1], false)} END`,
      cell('status', 2),
      cell("CASE WHEN urgent = 1 THEN 'URGENT ' || category ELSE category END", 3),
      cell("coalesce(organisation, '(not a listed hospital)')", 4),
      cell(fast ? "coalesce(subject, '(purged)')" : "coalesce(audit_subject(subject), '(purged)')", 5),
    ].map((value, i, all) => [i === all.length - 1 ? '%s\n' : '%s  ', value] as const),
  );
}

/** The stored text columns the CSV fast path copies as they are, for its check. */
const CSV_TEXTS = ['status', 'category', 'action', 'organisation', 'from_address', 'reply_to_address', 'reply_message_id', 'policy_version', 'policy_hash', 'message_id'];

/**
 * Per format: what the range query returns to be checked (joined by `separator` within a row and
 * between rows), and the test that the text, read as Latin-1 (a byte per character: no UTF-8
 * decoding), must pass for the fast path's lines to be the exact lines.
 */
const FAST_PATH = {
  // JSON: every text goes through json_quote on both paths; only the subject's masking differs.
  json: { checked: null, separator: null, plain: (): boolean => true },
  // CSV: no cell to quote (a quote, comma or line break anywhere) and none starting like a
  // formula; char(1) before each value marks where one starts (a value holding char(1) and '='
  // only sends its range the exact way).
  csv: {
    checked: `concat_ws(char(1), ${CSV_TEXTS.join(', ')})`,
    separator: 'char(1)',
    plain: (text: string): boolean => !/[",\r\n]|(?:^|\x01)[-=+@\t\r]/.test(text),
  },
  // Table: the stored cells printable ASCII with no two spaces in a row (see asciiCell). Anything
  // else (a tab, a non-ASCII character that counts two UTF-16 units) is fitted by tableCell.
  table: {
    checked: "concat_ws('|', status, category, organisation, subject)",
    separator: "'|'",
    plain: (text: string): boolean => /^[\x20-\x7e]*$/.test(text) && !text.includes('  '),
  },
} as const;

export type AuditFormat = keyof typeof FAST_PATH;

function lineSql(format: AuditFormat, fast: boolean): string {
  if (format === 'json') return jsonLine(fast ? 'subject' : 'audit_subject(subject)');
  if (format === 'csv') return fast ? csvLine((column) => column, csvText('subject')) : csvLine(csvText, 'audit_csv_subject(subject)');
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
 * path when its check passes, else the exact one. A thread of the parallel export
 * (audit-parallel.ts) builds its share of ranges with its own connection and builder.
 */
export function auditRangeBuilder(db: Db, format: AuditFormat, filter: AuditFilter = {}): (range: KeyRange) => Buffer | null {
  registerFallbacks(db);
  const fastPath = FAST_PATH[format];
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  // A statement per path and kind of range (bounded, or open at the end), prepared when first used.
  const query = (range: KeyRange, fast: boolean): ReturnType<Db['prepare']> => {
    const key = `${fast} ${range.to === undefined}`;
    let statement = statements.get(key);
    if (!statement) {
      const { where } = auditWhere(filter, rangeConditions(range));
      const outer = ["CAST(group_concat(line, '') AS BLOB) AS lines"];
      const inner = [`${lineSql(format, fast)} AS line`];
      if (fast) {
        outer.push("CAST(group_concat(subject, '|') AS BLOB) AS subjects");
        inner.push('subject');
        if (fastPath.checked) {
          outer.push(`CAST(group_concat(checked, ${fastPath.separator}) AS BLOB) AS checked`);
          inner.push(`${fastPath.checked} AS checked`);
        }
      }
      // group_concat keeps the subquery's order: SQLite keeps a FROM subquery's ORDER BY when the
      // outer query aggregates with anything but count, min or max (the unit test holds it to that).
      statement = db.prepare(`SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM cases ${where} ORDER BY received_at, id)`);
      statements.set(key, statement);
    }
    return statement;
  };
  const { params } = auditWhere(filter);
  return (range) => {
    const bound = { ...params, ...rangeParams(range) };
    const chunk = query(range, true).get(bound) as FastChunk;
    if (chunk.lines === null) return null;
    if (fastPath.plain(chunk.checked?.toString('latin1') ?? '') && !MAY_HOLD_NHS_NUMBER.test(chunk.subjects?.toString('latin1') ?? '')) {
      return wellFormed(chunk.lines);
    }
    return wellFormed((query(range, false).get(bound) as FastChunk).lines!);
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
