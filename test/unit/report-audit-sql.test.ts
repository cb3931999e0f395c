import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditCsvLine, auditJsonLine, auditTableLine } from '../../src/report/audit-format.js';
import { auditRows, type AuditFilter } from '../../src/report/audit-records.js';
import { receivedRanges } from '../../src/report/audit-ranges.js';
import { auditRangeBuilder, RANGE_ROWS, type AuditFormat } from '../../src/report/audit-sql.js';
import { AWKWARD_CASES_INDEX, AWKWARD_FOR_EXPORT, hasAwkwardCasesIndex } from '../../src/store/awkward-cases.js';
import { openDatabase, type Db } from '../../src/store/open-database.js';

// The SQL-built export lines must equal, byte for byte, what the JavaScript formatters print.
const TEXTS = [
  null,
  '',
  'plain',
  'NHS 943 476 5919 bloods',
  '9434765919 and 943-476-5919 and 943 476-5919 and 9434765918 and 12345678901',
  'Request 123456 - Mr Test PATIENT',
  '=HYPERLINK("x")',
  '+1 call',
  '-minus',
  '@at',
  '\ttab',
  '\rcr',
  'quote "this", please',
  'line\nbreak\r\nmore',
  'unicode é ü 😀 ‘smart’ \u2028 \u2029 \u00a0',
  Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\u007f\\/"',
  "'apostrophe",
  'x'.repeat(400),
];
const TIMES = [
  Date.UTC(2026, 10, 3, 9, 5, 7, 9),
  0,
  -1,
  -999,
  -1000,
  -1001,
  Date.UTC(1967, 1, 28, 23, 59, 59, 999),
  Date.UTC(1, 0, 1),
  Date.UTC(1, 0, 1) - 1,
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 1,
  -8.64e15,
  8.64e15,
  1234.5,
  -1234.5,
];
const CONFIDENCES = [0, -0, 0.9, 1, 0.123456, 0.0005, 0.0004999, 0.9995, 0.49999999999999994 / 1000, 0.5 / 1000, 1 / 3, 2 / 3, 0.1 + 0.2, 7, 1e6, 1e6 + 0.5, 1e7, -0.25, 123.4567, 5e-324];

function caseLog(): Db {
  const db = openDatabase(':memory:');
  const insert = db.prepare(`INSERT INTO cases (id, message_key, message_id, received_at, from_address, organisation_id, organisation, subject, category,
    action, confidence, status, dry_run, urgent, reasons, policy_version, policy_hash, reply_to_address, reply_message_id, replied_at, to_person, created_at, updated_at)
    VALUES (@id, @key, @text, @received, @text2, 'org', @text3, @subject, @category, 'reply', @confidence, @status, @dry, @urgent, @reasons, @version, @hash,
    @text4, @replyId, @replied, @toPerson, 0, 0)`);
  let n = 0;
  const pick = <T>(list: readonly T[], i: number): T => list[i % list.length]!;
  for (let i = 0; i < 600; i++) {
    n++;
    insert.run({
      id: i === 5 ? -7 : i === 6 ? 1234567 : n,
      key: `k${i}`,
      text: pick(TEXTS, i),
      text2: pick(TEXTS, i + 3),
      text3: pick(TEXTS, i + 7),
      subject: pick(TEXTS, i * 5 + 1),
      category: pick(['blood_test_request', 'urgent_clinical', 'a,b', '=x'], i),
      confidence: pick(CONFIDENCES, i),
      status: pick(['replied', 'review', '"q"'], i),
      dry: i % 3 === 0 ? 1 : 0,
      urgent: i % 5 === 0 ? 1 : i % 7 === 0 ? 2 : 0,
      reasons: pick(['[]', '', '[{"matched":"a \\"q\\" ,b\\n","w":1}]', '-1', '=1'], i),
      version: pick(['2026.1', '@v', 'a\nb'], i),
      hash: pick(['abc', 'h"a,sh', '+h'], i),
      text4: pick(TEXTS, i + 11),
      replyId: i % 4 === 0 ? null : `<r${i}${pick(TEXTS, i) ?? ''}>`,
      received: pick(TIMES, i),
      replied: i % 3 === 0 ? null : pick([...TIMES, 0], i + 2),
      toPerson: i % 2 === 0 ? null : pick(TEXTS, i + 13),
    });
  }
  return db;
}

function expected(db: Db, filter: AuditFilter, format: AuditFormat): string {
  if (format === 'table') return [...auditRows(db, filter, 'table')].map(auditTableLine).join('');
  return [...auditRows(db, filter)].map(format === 'json' ? auditJsonLine : auditCsvLine).join('');
}

function exported(db: Db, format: AuditFormat, filter: AuditFilter = {}, rowsPerRange?: number): string {
  const build = auditRangeBuilder(db, format, filter);
  const chunks = [...receivedRanges(db, filter, rowsPerRange ?? RANGE_ROWS)].map(build).filter((lines): lines is Buffer => lines !== null);
  return Buffer.concat(chunks).toString('utf8');
}

const FORMATS: AuditFormat[] = ['json', 'csv', 'table'];
const FILTERS: AuditFilter[] = [{}, { since: 0, until: Date.UTC(2030, 0, 1), status: 'replied' }, { organisation: 'ORG', category: 'urgent_clinical' }];

describe('audit lines built by SQLite', () => {
  const db = caseLog();
  for (const filter of FILTERS) {
    for (const format of FORMATS) {
      // One case per range, a few, and the export's own size: ranges split at ties, and some hold no match.
      it(`${format} equals the JavaScript formatter (${JSON.stringify(filter)})`, () => {
        const want = expected(db, filter, format);
        expect(want.length).toBeGreaterThan(0);
        for (const rows of [1, 3, undefined]) expect(exported(db, format, filter, rows)).toBe(want);
      });
    }
  }

  it('masks NHS numbers in subjects that were stored unmasked', () => {
    const lines = exported(db, 'json').split('\n').filter(Boolean);
    const subjects = lines.map((line) => JSON.parse(/"subject":("(?:[^"\\]|\\.)*"|null)/.exec(line)![1]!) as string | null).join('\n');
    expect(subjects).toContain('NHS 943 *** **** bloods');
    expect(subjects).not.toContain('9434765919');
    expect(subjects).toContain('943 *** **** and 943-***-**** and 943 ***-**** and 9434765918');
  });
});

describe('fast and exact ranges side by side', () => {
  // Plain cases (the fast path's lines) between awkward ones (the exact path's), a few per
  // received_at: each range's lines must come out the same whichever path built them.
  const db = openDatabase(':memory:');
  const insert = db.prepare(`INSERT INTO cases (message_key, message_id, received_at, from_address, organisation, subject, category, action,
    confidence, status, urgent, reasons, policy_version, policy_hash, reply_to_address, replied_at, created_at, updated_at)
    VALUES (@key, @messageId, @received, 'ward9@northmere.nhs.uk', @organisation, @subject, 'blood_test_request', 'reply', 0.9, 'replied',
    @urgent, '[{"rule":"bloods","weight":3}]', '2026.1', 'abc123', 'ward9@northmere.nhs.uk', @replied, 0, 0)`);
  const awkward = ['NHS 943 476 5919', '=SUM(A1)', 'a, b', 'two  spaces', 'tab\there', 'é', 'quote "q"', 'line\nbreak', 'cr\rhere', 'x'.repeat(60), null];
  for (let i = 0; i < 300; i++) {
    const received = Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 60_000;
    insert.run({
      key: `k${i}`,
      messageId: `<m${i}@x>`,
      received,
      organisation: i % 11 === 0 ? null : 'Northmere University Hospitals NHS Trust',
      subject: i % 7 === 0 ? awkward[(i / 7) % awkward.length]! : `Request ${i} - Mr Test PATIENT`,
      urgent: i % 5 === 0 ? 1 : 0,
      replied: received + 1000,
    });
  }
  for (const format of FORMATS) {
    it(`${format}`, () => {
      const want = expected(db, {}, format);
      for (const rows of [1, 2, 5, 64]) expect(exported(db, format, {}, rows)).toBe(want);
    });
  }
});

describe('a case with one awkward value among plain ones', () => {
  // Each value below alone must send its case the exact way (the awkward-cases index), whichever
  // column holds it; plain cases around it stay on the fast path.
  const TEXT_COLUMNS = ['status', 'category', 'action', 'organisation', 'from_address', 'reply_to_address', 'reply_message_id', 'policy_version', 'policy_hash', 'message_id'];
  const AWKWARD_TEXTS: unknown[] = ['a,b', 'q"q', 'line\nbreak', 'cr\rx', '=x', '-x', '+x', '@x', '\tx', '\rx', 'a\0,b', '\0='];
  const AWKWARD_OTHERS: Array<[string, unknown]> = [
    ['id', -7],
    ['received_at', -1],
    ['received_at', 1234.5],
    ['received_at', 8.64e15],
    ['replied_at', -1],
    ['replied_at', 1234.5],
    ['confidence', -0.25],
    ['confidence', 1e7],
    ['confidence', 'high'],
    ['reasons', ''],
    ['reasons', '[]'],
    ['reasons', '-1'],
    ['reasons', '{"rule":"x"}'],
    ['subject', 'NHS 943 476 5919 bloods'],
    ['subject', '9434765919'],
    ['subject', 'ref 943-476-5919'],
    ['subject', 'after a NUL\0 943 476 5919'],
    ['subject', 'a NUL\0, then a comma'],
    // Why the case went to a person: set when it first waits for one, after the index's test.
    ...AWKWARD_TEXTS.map((value) => ['to_person', value] as [string, unknown]),
    ['to_person', 'sensitive:complaint'],
  ];
  const plain = (i: number): Record<string, unknown> => ({
    id: 1000 + i,
    message_key: `k${i}`,
    message_id: `<m${i}@x>`,
    received_at: Date.UTC(2026, 0, 1) + i * 60_000,
    from_address: 'ward9@northmere.nhs.uk',
    organisation: 'Northmere University Hospitals NHS Trust',
    subject: `Request ${i}`,
    category: 'blood_test_request',
    action: 'reply',
    confidence: 0.9,
    status: 'replied',
    reasons: '[{"rule":"bloods","weight":3}]',
    policy_version: '2026.1',
    policy_hash: 'abc123',
    reply_to_address: 'ward9@northmere.nhs.uk',
    reply_message_id: `<r${i}@x>`,
    replied_at: Date.UTC(2026, 0, 1) + i * 60_000 + 1000,
    to_person: i % 2 === 0 ? null : 'thresholds.secondRequest',
    created_at: 0,
    updated_at: 0,
  });
  const awkward = [...TEXT_COLUMNS.flatMap((column) => AWKWARD_TEXTS.map((value) => [column, value] as [string, unknown])), ...AWKWARD_OTHERS];
  // An awkward status sends a whole CSV export the exact way (audit-sql.ts): those get a log each.
  const [awkwardStatuses, awkwardOthers] = [awkward.filter(([c]) => c === 'status'), awkward.filter(([c]) => c !== 'status')];

  function log(values: Array<[string, unknown]> = awkwardOthers): Db {
    const db = openDatabase(':memory:');
    const columns = Object.keys(plain(0));
    const insert = db.prepare(`INSERT INTO cases (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    let i = 0;
    for (const [column, value] of values) {
      for (let j = 0; j < 3; j++) insert.run(plain(i++));
      // The id stays unique and the time keeps the order, but for the value under test.
      insert.run({ ...plain(i++), [column]: value });
    }
    for (let j = 0; j < 3; j++) insert.run(plain(i++));
    // A value made awkward later, by an update.
    db.prepare("UPDATE cases SET organisation = 'late, changed' WHERE message_key = 'k1'").run();
    db.prepare("UPDATE cases SET to_person = 'sensitive:a \"rule\", later' WHERE message_key = 'k2'").run();
    return db;
  }

  for (const format of ['json', 'csv'] as const) {
    it(`${format}: every one of ${awkwardOthers.length} values comes out as the JavaScript formatter prints it`, () => {
      const db = log();
      const want = expected(db, {}, format);
      for (const rows of [1, 2, 4, RANGE_ROWS]) expect(exported(db, format, {}, rows)).toBe(want);
    });
  }

  it(`csv: each of ${awkwardStatuses.length} statuses comes out as the JavaScript formatter prints it`, () => {
    for (const status of awkwardStatuses) {
      const db = log([status]);
      expect(exported(db, 'csv', {}, 2)).toBe(expected(db, {}, 'csv'));
    }
  });

  it('the export asks the index; a log without it, or with another of its name, gets the same lines', () => {
    const db = log();
    expect(hasAwkwardCasesIndex(db)).toBe(true);
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM cases WHERE (${AWKWARD_FOR_EXPORT}) AND received_at >= 0 LIMIT 1`).all() as Array<{ detail: string }>;
    expect(plan.map((step) => step.detail).join('\n')).toContain(AWKWARD_CASES_INDEX);
    const want = { json: exported(db, 'json', {}, 2), csv: exported(db, 'csv', {}, 2) };
    db.exec(`DROP INDEX ${AWKWARD_CASES_INDEX}`);
    expect(exported(db, 'json', {}, 2)).toBe(want.json);
    expect(exported(db, 'csv', {}, 2)).toBe(want.csv);
    // An index of that name made by another version, with another condition, is not used.
    db.exec(`CREATE INDEX ${AWKWARD_CASES_INDEX} ON cases (received_at) WHERE id < 0`);
    expect(hasAwkwardCasesIndex(db)).toBe(false);
    expect(exported(db, 'csv', {}, 2)).toBe(want.csv);
  });

  it('no value makes the write of a case fail (SQLite tests the index condition at every write)', () => {
    const db = openDatabase(':memory:');
    const columns = Object.keys(plain(0));
    const insert = db.prepare(`INSERT INTO cases (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    let i = 0;
    for (const column of TEXT_COLUMNS.filter((c) => c !== 'status')) {
      for (const value of [Buffer.from('blob'), 12345, 1.5]) expect(() => insert.run({ ...plain(i++), [column]: value })).not.toThrow();
    }
    expect((db.prepare(`SELECT count(*) FROM cases INDEXED BY ${AWKWARD_CASES_INDEX} WHERE ${AWKWARD_FOR_EXPORT}`).pluck().get() as number)).toBe(9);
  });

  it('a log opened for writing gets the index as this version defines it', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'awkward-index-')), 'cases.sqlite');
    const first = openDatabase(file);
    first.exec(`DROP INDEX ${AWKWARD_CASES_INDEX}; CREATE INDEX ${AWKWARD_CASES_INDEX} ON cases (received_at) WHERE id < 0`);
    expect(hasAwkwardCasesIndex(first)).toBe(false);
    first.close();
    const again = openDatabase(file);
    expect(hasAwkwardCasesIndex(again)).toBe(true);
    again.close();
    rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
