import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/report/csv.js';
import { countCases, runWorkerPass, SAMPLE_INBOX, SAMPLE_PASS_NOW, writeApprovalPolicy } from '../support/lmc-fixtures.js';
import { runCli } from '../support/run-cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

// One real worker pass over the demo inbox fills the case log; the LMC commands then run as the
// built CLI, the way an administrator runs them. Blood tests and fit notes need approval here.
const NOW = SAMPLE_PASS_NOW;
let dir: string;
let database: string;
let policy: string;
let sink: SmtpSink;

const smtpEnv = () => ({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(sink.port), SMTP_SECURE: 'false', SMTP_AUTH: 'none', MAIL_FROM: 'alliance.admin@nhs.net' });
const db = () => new Database(database, { readonly: true });
const rowOf = (id: number) => {
  const handle = db();
  try {
    return handle.prepare('SELECT * FROM cases WHERE id = ?').get(id) as Record<string, unknown>;
  } finally {
    handle.close();
  }
};
const eventsOf = (id: number) => {
  const handle = db();
  try {
    return handle.prepare('SELECT status, actor, note, at FROM case_events WHERE case_id = ? ORDER BY id').all(id) as Array<{ status: string; actor: string; note: string | null; at: number }>;
  } finally {
    handle.close();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'lmc-commands-'));
  database = path.join(dir, 'cases.sqlite');
  policy = writeApprovalPolicy(dir);
  const pass = await runWorkerPass({ inbox: SAMPLE_INBOX, outbox: path.join(dir, 'outbox'), database, policy, now: NOW });
  expect(pass.code, pass.stderr).toBe(0);
  sink = await startSmtpSink();
}, 120_000);

afterAll(async () => {
  await sink?.stop();
});

describe('report: why cases went to a person', () => {
  it('counts them by why in plain words, in every format, with how many still wait', async () => {
    const json = await runCli(['report', '--month', '2026-11', '--format', 'json', '--database', database]);
    expect(json.code, json.stderr).toBe(0);
    // Blood tests and fit notes need approval under this policy; the critical result is urgent.
    expect(JSON.parse(json.stdout).toPerson).toEqual([
      { why: 'autonomy.approve', words: 'the category needs a person to approve each reply', count: 2, waiting: 2 },
      { why: 'urgent', words: 'urgent clinical content', count: 1, waiting: 1 },
    ]);
    const csv = await runCli(['report', '--month', '2026-11', '--format', 'csv', '--database', database]);
    expect(csv.stdout).toContain('"to a person, why",urgent,urgent clinical content,1\r\n');
    const html = await runCli(['report', '--month', '2026-11', '--database', database]);
    expect(html.stdout).toContain('<td class="n" data-figure="to-person:autonomy.approve">2</td>');
  });
});

describe('review queue', () => {
  it('lists waiting cases urgent first, marked URGENT, then oldest first', async () => {
    const result = await runCli(['review', 'list', '--database', database]);
    expect(result.code).toBe(0);
    const caseLines = result.stdout.split('\n').filter((line) => line.startsWith('PCN-'));
    expect(caseLines.map((line) => line.slice(0, 10))).toEqual(['PCN-000009', 'PCN-000004', 'PCN-000008']);
    expect(caseLines[0]).toContain('URGENT');
    expect(caseLines[1]).not.toContain('URGENT');
  });

  it('shows one case with the reply approval would send', async () => {
    const result = await runCli(['review', 'show', 'PCN-000004', '--database', database]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('awaiting_approval');
    expect(result.stdout).toContain('to:          debbie.marsh@northmere.nhs.uk');
  });

  it('refuses to approve a template reply to an urgent clinical message, and sends nothing', async () => {
    const result = await runCli(['review', 'approve', 'PCN-000009', '--database', database, '--policy', policy], smtpEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/urgent clinical message/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(sink.messages).toHaveLength(0);
    expect(rowOf(9).status).toBe('review');
  });

  it('refuses an urgent case before it asks for any SMTP setting', async () => {
    const result = await runCli(['review', 'approve', 'PCN-000009', '--database', database, '--policy', policy], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/urgent clinical message/);
    expect(result.stderr).not.toMatch(/SMTP/);
    expect(rowOf(9).status).toBe('review');
  });

  it('two approvals at the same moment send the reply once', async () => {
    const approve = (by: string) => runCli(['review', 'approve', 'PCN-000004', '--by', by, '--database', database, '--policy', policy], smtpEnv());
    const results = await Promise.all([approve('alice'), approve('bob')]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.to).toEqual(['debbie.marsh@northmere.nhs.uk']);
    expect(sink.messages[0]!.raw.toString()).toMatch(/Auto-Submitted: auto-replied/i);
    const row = rowOf(4);
    expect(row.status).toBe('replied');
    expect(sink.messages[0]!.raw.toString()).toContain(String(row.reply_message_id));
    const approver = eventsOf(4).find((e) => e.status === 'sending' && e.actor !== 'worker');
    expect(['alice', 'bob']).toContain(approver?.actor);
    // Once replied, a later approval is refused and sends nothing.
    const again = await approve('carol');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not waiting for review: its status is replied/);
    expect(sink.messages).toHaveLength(1);
  });

  it('after a crash mid-send (case left in sending) approve refuses and sends nothing', async () => {
    const handle = new Database(database);
    handle.prepare("UPDATE cases SET status = 'sending' WHERE id = 8").run();
    handle.close();
    const result = await runCli(['review', 'approve', 'PCN-000008', '--database', database, '--policy', policy], smtpEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/delivery not confirmed.*Sent folder/);
    expect(sink.messages).toHaveLength(1);
    expect(rowOf(8).status).toBe('sending');
  });

  it('rejects with who, when and the note in the history', async () => {
    const handle = new Database(database);
    handle.prepare("UPDATE cases SET status = 'awaiting_approval' WHERE id = 8").run();
    handle.close();
    const noNote = await runCli(['review', 'reject', 'PCN-000008', '--database', database, '--policy', policy]);
    expect(noNote.code).toBe(2);
    const result = await runCli(['review', 'reject', 'PCN-000008', '--by', 'Dr Officer', '--note', 'patient already seen', '--now', '2026-11-21T10:00:00Z', '--database', database, '--policy', policy]);
    expect(result.code, result.stderr).toBe(0);
    expect(rowOf(8).status).toBe('rejected');
    // The message waits in the review folder until the next pass files it.
    expect(rowOf(8).refile_from).toBe('PCN/Review');
    expect(eventsOf(8).at(-1)).toEqual({ status: 'rejected', actor: 'Dr Officer', note: 'patient already seen', at: Date.parse('2026-11-21T10:00:00Z') });
  });

  it('a review while another program holds the case log says so in plain words, changes nothing, and can be run again', async () => {
    const blocker = new Database(database);
    blocker.exec('BEGIN EXCLUSIVE');
    let held;
    try {
      held = await runCli(['review', 'reject', 'PCN-000009', '--note', 'duplicate', '--database', database, '--policy', policy]);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(held.code, held.stderr).toBe(1);
    expect(held.stderr).toMatch(/^pcn-autoreply: the database could not be written \(SQLITE_BUSY\w*\): free disk space or stop the other program using it, then try again\n$/);
    expect(rowOf(9).status).toBe('review');
  });

  it.each([
    ['not_a_category', /is not a category/],
    ['PCN-000001', /is not a category/],
  ])('refuses to reclassify to %s', async (category, message) => {
    const result = await runCli(['review', 'reclassify', 'PCN-000009', category, '--database', database, '--policy', policy]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  it('reclassifies to a reply category: reply rendered and held for approval, never sent silently', async () => {
    const result = await runCli(['review', 'reclassify', 'PCN-000009', 'blood_test_request', '--by', 'pcn.admin', '--note', 'not urgent after all', '--database', database, '--policy', policy]);
    expect(result.code, result.stderr).toBe(0);
    const row = rowOf(9);
    expect(row).toMatchObject({ status: 'awaiting_approval', category: 'blood_test_request', urgent: 0, reply_to_address: 'laura.tran@northmere.nhs.uk' });
    // Still waiting for a person: its message stays in the review folder.
    expect(row.refile_from).toBeNull();
    expect(String(row.reply_text)).toContain('PCN-000009');
    expect(sink.messages).toHaveLength(1);
    const last = eventsOf(9).at(-1)!;
    expect(last.actor).toBe('pcn.admin');
    expect(last.note).toMatch(/reclassified from urgent_clinical to blood_test_request.*not urgent after all/);
  });
});

describe('why', () => {
  it.each([['PCN-000005'], ['5'], ['<demo-02.sample@example.nhs.uk>']])('explains case %s fully', async (id) => {
    const result = await runCli(['why', id, '--database', database]);
    expect(result.code, result.stderr).toBe(0);
    for (const part of ['Case PCN-000005', 'Headers that mattered', 'Rules that fired', 'Category rules', 'matched "', 'Scores', 'policy:        version 2026.1, hash', 'History', 'replied', 'message-id:  <pcn-autoreply.PCN-000005.']) {
      expect(result.stdout).toContain(part);
    }
  });

  it('says plainly when there is no such case', async () => {
    const result = await runCli(['why', 'PCN-999999', '--database', database]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no case "PCN-999999"/);
  });
});

describe('audit', () => {
  it.each([
    [[] as string[], '1 = 1'],
    [['--status', 'replied'], "status = 'replied'"],
    [['--category', 'non_hospital'], "category = 'non_hospital'"],
    [['--organisation', "St Aldric's Hospital NHS Foundation Trust"], "organisation = 'St Aldric''s Hospital NHS Foundation Trust'"],
    [['--since', '2026-11-18', '--until', '2026-11-18'], `received_at >= ${Date.parse('2026-11-18')} AND received_at < ${Date.parse('2026-11-19')}`],
  ])('audit %j gives the cases the database holds', async (filters, where) => {
    const result = await runCli(['audit', '--format', 'json', '--database', database, ...filters]);
    expect(result.code, result.stderr).toBe(0);
    const records = result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBe(countCases(database, where));
    expect(records.length).toBeGreaterThan(0);
  });

  it('names why each case went to a person, as the report counts them, and null for the rest', async () => {
    const result = await runCli(['audit', '--format', 'json', '--database', database]);
    expect(result.code, result.stderr).toBe(0);
    const records = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { caseId: string; status: string; toPerson: string | null });
    const counts: Record<string, number> = {};
    for (const record of records) if (record.toPerson !== null) counts[record.toPerson] = (counts[record.toPerson] ?? 0) + 1;
    expect(counts).toEqual({ 'autonomy.approve': 2, urgent: 1 });
    expect(records.filter((r) => r.toPerson === null).map((r) => r.status)).not.toContain('awaiting_approval');
  });

  it('CSV opens in Excel (BOM, CRLF, one header) and parsed back equals the JSON data', async () => {
    const [csv, json] = await Promise.all([runCli(['audit', '--format', 'csv', '--database', database]), runCli(['audit', '--format', 'json', '--database', database])]);
    expect(csv.stdout.startsWith('\uFEFFcaseId,')).toBe(true);
    expect(csv.stdout.replace(/\r\n/g, '')).not.toMatch(/\n(?!")/);
    const [header, ...rows] = parseCsv(csv.stdout);
    const records = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(records.length);
    rows.forEach((row, i) => {
      const record = records[i]!;
      header!.forEach((column, j) => {
        const value = record[column];
        const expected = value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
        expect(row[j]!.replace(/^'(?=[=+\-@])/, ''), `${column} of ${record.caseId}`).toBe(expected);
      });
    });
  });

  it('an organisation no case is from gives an empty export and a note naming the organisations the log holds', async () => {
    const slip = await runCli(['audit', '--organisation', 'northmer', '--database', database]);
    expect(slip.code, slip.stderr).toBe(0);
    expect(slip.stdout.trim().split('\n')).toHaveLength(1); // the table's heading alone
    expect(slip.stderr).toBe(
      'note: no case in this log is from "northmer"; its organisations: eastfield (Eastfield Community and Mental Health NHS Trust), ' +
        "northmere (Northmere University Hospitals NHS Trust), staldrics (St Aldric's Hospital NHS Foundation Trust)\n",
    );
    // By id or by name, in any case: no note.
    for (const organisation of ['NORTHMERE', 'northmere university hospitals nhs trust']) {
      const found = await runCli(['audit', '--organisation', organisation, '--database', database]);
      expect(found.stderr, organisation).toBe('');
      expect(found.stdout.trim().split('\n').length, organisation).toBeGreaterThan(1);
    }
  });

  it.each([['--since', 'yesterday'], ['--until', '2026-02-30'], ['--since', '2026-11-20T25:00Z']])('refuses %s %s with a one-line reason (exit 2)', async (option, value) => {
    const result = await runCli(['audit', option, value, '--database', database]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(option);
  });
});

describe('retention', () => {
  it('the case log is readable only by its owner', () => {
    expect(statSync(database).mode & 0o777).toBe(0o600);
  });

  it('purge removes old texts but keeps the counts reports need', async () => {
    const before = await runCli(['report', '--month', '2026-11', '--format', 'json', '--database', database]);
    const handle = db();
    const old = (handle.prepare("SELECT COUNT(*) AS n FROM cases WHERE received_at < ? AND status NOT IN ('review', 'awaiting_approval', 'sending', 'decided')").get(Date.parse(NOW) - 3 * 86_400_000) as { n: number }).n;
    handle.close();
    expect(old).toBeGreaterThan(0);
    const preview = await runCli(['purge', '--older-than', '3d', '--dry-run', '--now', NOW, '--database', database]);
    expect(preview.stdout).toContain(`Would purge ${old} case(s) received before 2026-11-17`);
    const purge = await runCli(['purge', '--older-than', '3d', '--now', NOW, '--database', database]);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toContain(`Purged ${old} case(s)`);
    const row = rowOf(5);
    expect(row).toMatchObject({ subject: null, excerpt: null, reply_text: null, reply_html: null, from_name: null, status: 'replied', category: 'investigation_request' });
    expect(row.purged_at).toBe(Date.parse(NOW));
    const after = await runCli(['report', '--month', '2026-11', '--format', 'json', '--database', database]);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
  });

  it('refuses a duration it cannot read', async () => {
    const result = await runCli(['purge', '--older-than', 'two years', '--database', database]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--older-than must be a number with d \(days\), m \(months\) or y \(years\)/);
  });
});

describe('a file that is not a case log', () => {
  it.each([
    ['not a database', (file: string) => writeFileSync(file, 'a spreadsheet, perhaps, but not a case log\n'.repeat(40)), /\(file is not a database\)/],
    ['another database', (file: string) => new Database(file).exec('CREATE TABLE patients (name TEXT)').close(), /\(a database without the cases table\)/],
  ])('%s: every LMC command says so in one line, exits 1 and leaves the file as it was', async (_what, make, reason) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'not-a-log-')), 'cases.sqlite');
    make(file);
    const before = readFileSync(file);
    const withPolicy = ['--policy', policy];
    const commands = [['audit'], ['report', '--month', '2026-11'], ['why', '1'], ['review', 'list'], ['status', ...withPolicy], ['review', 'reject', '1', '--note', 'x', ...withPolicy], ['purge', ...withPolicy]];
    for (const command of commands) {
      const result = await runCli([...command, '--database', file]);
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr, command.join(' ')).toMatch(new RegExp(`^pcn-autoreply: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a case log of pcn-autoreply ${reason.source}: check --database or DATABASE_PATH\\n$`));
    }
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a damaged case log: the command says it could not be read and what to do, not "a bug"', async () => {
    const copy = path.join(mkdtempSync(path.join(tmpdir(), 'damaged-log-')), 'cases.sqlite');
    const source = new Database(database, { readonly: true });
    await source.backup(copy);
    source.close();
    const bytes = readFileSync(copy);
    const pageSize = bytes.readUInt16BE(16) === 1 ? 65536 : bytes.readUInt16BE(16);
    // Every page after the schema's first one: the rows and indexes the audit reads.
    bytes.fill(0xa5, pageSize);
    writeFileSync(copy, bytes);
    const result = await runCli(['audit', '--database', copy]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^pcn-autoreply: the case log could not be read \(SQLITE_CORRUPT\w*: database disk image is malformed\): the file is damaged; check DATABASE_PATH, or put back a copy taken while the worker was stopped\n$/);
  });
});

// An export sent to a file on a full disk (`audit > /media/usb/audit.csv`): /dev/full fails every write with ENOSPC.
describe.skipIf(!existsSync('/dev/full'))('output to a full disk', () => {
  it('every LMC command that prints says the output could not be written, in one line, and exits 1', async () => {
    const full = openSync('/dev/full', 'w');
    try {
      const commands = [['audit'], ['audit', '--format', 'csv'], ['report', '--month', '2026-11', '--format', 'csv'], ['why', '1'], ['review', 'list'], ['status', '--policy', policy]];
      for (const command of commands) {
        const result = await runCli([...command, '--database', database], {}, { stdoutFd: full });
        expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(1);
        expect(result.stderr, command.join(' ')).toBe('pcn-autoreply: the output could not be written (ENOSPC): free space where it goes, or send it to another file\n');
      }
    } finally {
      closeSync(full);
    }
  });
});

