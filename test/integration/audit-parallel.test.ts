import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditCsvLine, auditJsonLine, auditTableLine } from '../../src/report/audit-format.js';
import { auditRows, type AuditFilter } from '../../src/report/audit-records.js';
import type { AuditFormat } from '../../src/report/audit-sql.js';
import type * as Parallel from '../../src/report/audit-parallel.js';
import { caseReference } from '../../src/store/case-store.js';
import { openDatabase, type Db } from '../../src/store/open-database.js';
import { CLI, REPO_ROOT } from '../support/run-cli.js';

// The second thread exists only in the build (under vitest the export stays on one thread), so this
// test loads dist/, as `pcn-autoreply audit` runs it. Two threads take groups of ranges as they are
// free and write them in turn: the file must be the one the JavaScript formatters print, byte for
// byte, whoever built which group.
const dist = (await import(new URL('../../dist/report/audit-parallel.js', import.meta.url).href)) as typeof Parallel;

const dir = mkdtempSync(path.join(tmpdir(), 'audit-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `cases` cases, three per millisecond (ties cut across ranges and groups), awkward ones among them. */
function caseLog(file: string, cases: number): Db {
  const db = openDatabase(file);
  const insert = db.prepare(`INSERT INTO cases (message_key, message_id, received_at, from_address, organisation, subject, category, action,
    confidence, status, urgent, reasons, policy_version, policy_hash, reply_to_address, replied_at, created_at, updated_at)
    VALUES (@key, @messageId, @received, @from, @organisation, @subject, @category, 'reply', 0.9, @status,
    @urgent, '[{"rule":"bloods","matched":"please arrange","weight":3}]', '2026.1', 'abc123', 'ward9@northmere.nhs.uk', @replied, 0, 0)`);
  const awkward = ['NHS 943 476 5919', '=SUM(A1)', 'a, b', 'two  spaces', 'tab\there', 'é ü 😀', 'quote "q"', 'x'.repeat(60), null];
  db.transaction(() => {
    for (let i = 0; i < cases; i++) {
      const received = Date.UTC(2026, 0, 1) + Math.floor(i / 3) * 60_000;
      insert.run({
        key: `k${i}`,
        messageId: `<m${i}@northmere.nhs.uk>`,
        received,
        from: i % 389 === 0 ? '"Ward, 9" <ward9@northmere.nhs.uk>' : 'ward9@northmere.nhs.uk',
        organisation: i % 11 === 0 ? null : 'Northmere University Hospitals NHS Trust',
        subject: i % 97 === 0 ? awkward[(i / 97) % awkward.length]! : `Request ${i} - Mr Test PATIENT`,
        category: i % 13 === 0 ? 'urgent_clinical' : 'blood_test_request',
        status: i % 4 === 0 ? 'review' : 'replied',
        urgent: i % 13 === 0 ? 1 : 0,
        replied: received + 1000,
      });
    }
  })();
  return db;
}

function expected(db: Db, filter: AuditFilter, format: AuditFormat): string {
  if (format === 'table') return [...auditRows(db, filter, 'table')].map(auditTableLine).join('');
  return [...auditRows(db, filter)].map(format === 'json' ? auditJsonLine : auditCsvLine).join('');
}

async function exportToFile(
  db: Db,
  databasePath: string,
  format: AuditFormat,
  filter: AuditFilter,
  parallelMinGroups: number,
  groupsTakenHere?: number,
): Promise<{ text: string; share: Parallel.ExportShare }> {
  const out = path.join(dir, `out-${format}-${parallelMinGroups}.txt`);
  const fd = openSync(out, 'w');
  try {
    const share = await dist.writeAuditExport(db, { databasePath, format, filter, header: Buffer.from('HEADER\n'), fd, parallelMinGroups, groupsTakenHere });
    return { text: readFileSync(out, 'utf8'), share };
  } finally {
    closeSync(fd);
  }
}

describe('audit export on two threads (dist)', () => {
  const file = path.join(dir, 'cases.sqlite');
  const cases = 5 * dist.GROUP_ROWS + 123;
  const db = caseLog(file, cases);
  const filters: AuditFilter[] = [{}, { since: Date.UTC(2026, 0, 3), until: Date.UTC(2026, 0, 20), status: 'replied' }];

  for (const format of ['json', 'csv', 'table'] as const) {
    it(`${format}: the same bytes as one thread and as the JavaScript formatters`, async () => {
      for (const filter of filters) {
        const want = `HEADER\n${expected(db, filter, format)}`;
        expect(want.split('\n').length).toBeGreaterThan(filter.status ? 1000 : cases);
        // This thread takes the first groups (the other is still starting), up to 2; the other the rest.
        const parallel = await exportToFile(db, file, format, filter, 1, 2);
        expect(parallel.text).toBe(want);
        expect(parallel.share.builtByThread).toBeGreaterThanOrEqual(parallel.share.groups - 2);
        expect(parallel.share.builtByThread).toBeLessThan(parallel.share.groups);
        // Both taking groups as they are free.
        expect((await exportToFile(db, file, format, filter, 1)).text).toBe(want);
        const single = await exportToFile(db, file, format, filter, Number.POSITIVE_INFINITY);
        expect(single.text).toBe(want);
        expect(single.share.builtByThread).toBe(0);
      }
    });
  }

  it('a thread that fails fails the export with its reason, instead of leaving it waiting', async () => {
    // A file SQLite opens (and the writers' hold with it) but that holds no case log: the thread's
    // first read fails, after this side has begun.
    const notALog = path.join(dir, 'not-a-log.sqlite');
    closeSync(openSync(notALog, 'w'));
    const started = Date.now();
    await expect(exportToFile(db, notALog, 'json', {}, 1)).rejects.toThrow(/no such table: cases/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a writer that holds the log past the wait: the export runs on this thread alone, whole', async () => {
    const worker = openDatabase(file);
    worker.exec('BEGIN IMMEDIATE');
    try {
      const want = `HEADER\n${expected(db, {}, 'csv')}`;
      const exported = await exportToFile(db, file, 'csv', {}, 1);
      expect(exported.share.builtByThread).toBe(0);
      expect(exported.text).toBe(want);
    } finally {
      worker.exec('ROLLBACK');
      worker.close();
    }
  });

  it('`audit | head` ends the export cleanly when the reader goes (both threads stop)', async () => {
    const big = path.join(dir, 'big.sqlite');
    caseLog(big, dist.PARALLEL_MIN_GROUPS * dist.GROUP_ROWS + 10).close();
    const child = spawn(process.execPath, [CLI, 'audit', '--format', 'json', '--database', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const firstLine = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').split('\n')[0]!)));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(JSON.parse(firstLine)).toMatchObject({ caseId: 'PCN-000001' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 30_000);
});

describe('the export is the log as it was when the export began', () => {
  const file = path.join(dir, 'snapshot.sqlite');
  // Large enough that the export is still at its first groups (each about 1.7 MB of JSON) when
  // this test stops reading, far from the last one.
  caseLog(file, (dist.PARALLEL_MIN_GROUPS + 10) * dist.GROUP_ROWS).close();
  const variants = [
    ['on two threads (the whole log)', []],
    ['on one thread (the last 12 days: fewer groups than two threads need)', ['--since', '2026-01-14']],
  ] as const;

  for (const [how, args] of variants) {
    it(`${how}: a case that changes and a case logged meanwhile are left as they were`, async () => {
      const writer = openDatabase(file);
      const last = writer.prepare('SELECT id, status FROM cases ORDER BY received_at DESC, id DESC LIMIT 1').get() as { id: number; status: string };
      const child = spawn(process.execPath, [CLI, 'audit', '--format', 'json', '--database', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (chunks.length === 1) {
            child.stdout.pause();
            resolve();
          }
        }),
      );
      // The export has begun and waits for this test to read on. Meanwhile the worker (here, this
      // test) moves the last case on and logs a new one.
      const newMessageId = `<logged-during-export-${last.id}@northmere.nhs.uk>`;
      writer.prepare("UPDATE cases SET status = 'rejected' WHERE id = ?").run(last.id);
      writer
        .prepare(
          `INSERT INTO cases (message_key, message_id, received_at, category, action, confidence, status, reasons, policy_version, policy_hash, created_at, updated_at)
           VALUES (?, ?, ?, 'blood_test_request', 'reply', 0.9, 'review', '[]', '2026.1', 'abc123', 0, 0)`,
        )
        .run(newMessageId, newMessageId, Date.UTC(2026, 5, 1));
      writer.close();
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { caseId: string; status: string; messageId: string });
      expect(lines.at(-1)).toMatchObject({ caseId: caseReference(last.id), status: last.status });
      expect(lines.filter((line) => line.messageId === newMessageId)).toEqual([]);
    }, 60_000);
  }
});

describe('both threads read the log as it was at one instant', () => {
  it('a writer committing all the time: every case it changes carries the same change in the export', async () => {
    const file = path.join(dir, 'ticking.sqlite');
    const groups = dist.PARALLEL_MIN_GROUPS + 10;
    const db = caseLog(file, groups * dist.GROUP_ROWS);
    // The first case of every group: this thread builds one group, the other thread the rest.
    const ticked = Array.from({ length: groups }, (_, group) => group * dist.GROUP_ROWS + 1);
    const ticker = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import Database from 'better-sqlite3';
         const db = new Database(process.argv[1]);
         db.pragma('busy_timeout = 10000');
         const ids = JSON.parse(process.argv[2]);
         const tick = db.prepare('UPDATE cases SET subject = ? WHERE id IN (' + ids.map(() => '?').join(', ') + ')');
         for (let n = 1; ; n++) { tick.run('tick ' + n, ...ids); if (n === 50) process.stdout.write('ticking\\n'); }`,
        file,
        JSON.stringify(ticked),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => ticker.stdout.once('data', resolve));
      const { text, share } = await exportToFile(db, file, 'json', {}, 1, 1);
      expect(share.builtByThread).toBe(groups - 1);
      const subjects = new Set(
        text
          .split('\n')
          .slice(1, -1)
          .map((line) => JSON.parse(line) as { caseId: string; subject: string })
          .filter((line) => ticked.map(caseReference).includes(line.caseId))
          .map((line) => line.subject),
      );
      expect(subjects.size).toBe(1);
      expect([...subjects][0]).toMatch(/^tick \d+$/);
    } finally {
      ticker.kill('SIGKILL');
      db.close();
    }
  }, 60_000);
});
