#!/usr/bin/env node
// Times the LMC's exports over a synthetic case log: `npm run build && node bench/audit-bench.mjs [cases]`.
// Builds the database through dist/ (same migrations as the product), one transaction, one prepared statement.
// AUDIT_BENCH_DB=/path/file.sqlite keeps the database there and reuses it on the next run (building
// a million cases takes longer than timing the exports, and before/after runs should read the same file).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../dist/store/open-database.js';

const CASES = Number(process.argv[2] ?? 1_000_000);
const keptFile = process.env.AUDIT_BENCH_DB;
const dir = keptFile ? null : mkdtempSync(join(tmpdir(), 'audit-bench-'));
const file = keptFile ?? join(dir, 'bench.sqlite');
const reuse = keptFile !== undefined && existsSync(keptFile);
const TRUSTS = [
  ['northmere', 'Northmere University Hospitals NHS Trust', 'northmere.nhs.uk'],
  ['staldrics', "St Aldric's Hospital NHS Foundation Trust", 'staldrics.nhs.uk'],
  ['eastfield', 'Eastfield Community and Mental Health NHS Trust', 'nhs.net'],
];
const CATEGORIES = [
  ['blood_test_request', 'reply', 'replied'], ['investigation_request', 'reply', 'replied'], ['prescribing_request', 'reply', 'replied'],
  ['re_referral_request', 'reply', 'replied'], ['onward_referral_request', 'reply', 'replied'], ['fit_note_request', 'reply', 'replied'],
  ['results_followup_request', 'reply', 'awaiting_approval'], ['appointment_request', 'reply', 'replied'], ['shared_care_request', 'reply', 'shadowed'],
  ['urgent_clinical', 'review', 'review'], ['clinical_information', 'file', 'filed'], ['auto_generated', 'ignore', 'ignored'],
  ['non_hospital', 'file', 'filed'], ['unclear', 'review', 'review'],
];
const DEPARTMENTS = ['cardiology', 'outpatients', 'orthopaedics', 'gastro', 'booking.centre', 'ward9', 'diabetes', 'renal'];
const END = Date.UTC(2026, 11, 1);
const SPAN = 395 * 24 * 3600 * 1000; // 13 months

const started = Date.now();
if (!reuse) buildCaseLog();
const buildSeconds = (Date.now() - started) / 1000;
const bytes = statSync(file).size;

function buildCaseLog() {
const db = openDatabase(file);
db.pragma('synchronous = OFF');
const insert = db.prepare(`INSERT INTO cases (message_key, message_id, mailbox, uid_validity, uid, received_at, from_address, from_name,
  organisation_id, organisation, subject, excerpt, body, category, action, confidence, autonomy, status, dry_run, urgent, reasons, trace,
  policy_version, policy_hash, thread_key, reply_to_address, reply_message_id, reply_subject, replied_at, created_at, updated_at, to_person)
  VALUES (?, ?, 'INBOX', '1', ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'abc123def456', ?, ?, ?, ?, ?, ?, ?, ?)`);
// Why each case that waits went to a person (migration 9), as the worker would have said it.
const TO_PERSON = { awaiting_approval: 'autonomy.approve', review: null };
let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
db.transaction(() => {
  for (let i = 1; i <= CASES; i++) {
    const [trustId, trust, domain] = TRUSTS[i % 3];
    const [category, action, baseStatus] = CATEGORIES[Math.floor(random() * CATEGORIES.length)];
    const status = baseStatus === 'replied' && random() < 0.05 ? 'too_old' : baseStatus;
    // Arrival order, as the worker appends them: received_at rises with the rowid (a random order
    // would make the index-ordered export a random walk over the file, which no real log is).
    const received = END - SPAN + Math.floor(((i - 1 + random()) * SPAN) / CASES);
    const from = `${DEPARTMENTS[i % DEPARTMENTS.length]}@${domain}`;
    const messageId = `<bench-${i}@${domain}>`;
    const replied = status === 'replied' ? received + Math.floor(random() * 3 * 3600 * 1000) : null;
    const reasons = `[{"gate":"category","rule":"${category}-words","detail":"counts towards ${category}","matched":"please arrange","where":"body","category":"${category}","weight":3}]`;
    insert.run(`k${i}`, messageId, i, received, from, 'Ward Clerk', trustId, trust, `Request ${i} - Mr Test PATIENT`, 'Could the GP please arrange...',
      category, action, 0.9, action === 'reply' ? 'auto' : null, status, i % 50 === 0 ? 1 : 0, category === 'urgent_clinical' ? 1 : 0, reasons,
      received < END - SPAN / 2 ? '2025.2' : '2026.1', messageId, status === 'replied' ? from : null,
      status === 'replied' ? `<pcn-autoreply.PCN-${i}@nhs.net>` : null, status === 'replied' ? `Re: Request ${i}` : null, replied, received, received,
      status in TO_PERSON ? (TO_PERSON[status] ?? (category === 'urgent_clinical' ? 'urgent' : 'thresholds.minConfidence')) : null);
  }
})();
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
// A log at rest, as an LMC officer exports it: the kernel writing back the 900 MB just built would
// otherwise share the cores with the exports timed next (measured: json 2.6 s just after the build,
// 1.9 s once written).
const fd = openSync(file, 'r');
fsyncSync(fd);
closeSync(fd);
}

const runs = [
  ['audit --format json (all)', ['audit', '--format', 'json']],
  ['audit --format csv (all)', ['audit', '--format', 'csv']],
  ['audit --format table (all)', ['audit', '--format', 'table']],
  ['audit csv --since/--until --organisation --status', ['audit', '--format', 'csv', '--since', '2026-06-01', '--until', '2026-08-31', '--organisation', 'northmere', '--status', 'replied']],
  ['report --month 2026-11 html', ['report', '--month', '2026-11', '--format', 'html']],
  ['report --month 2026-11 csv', ['report', '--month', '2026-11', '--format', 'csv']],
  ['report --month 2026-11 json', ['report', '--month', '2026-11', '--format', 'json']],
];
// Each command runs ROUNDS times (AUDIT_BENCH_ROUNDS, default 5) and the median is kept. The rounds
// go round the commands in turn (json, csv, table, ..., then json again), so that a slow minute of
// this shared machine falls on every command alike rather than on all the rounds of one: in two
// complete runs of 2026-11-26 the CSV export's three consecutive rounds measured 1.8-2.7 and
// 1.9-3.8 s, as long as the neighbour was busy, while the JSON rounds just before took 1.7-1.8 s.
// Issue 5 asks that each command finish in under 2 s and issue 7 under 1 s: judged on the wall
// time. CPU (user + system of the child, from the shell's `times`) is shown beside it: the
// whole-log export runs on both cores, so it exceeds the wall.
const ROUNDS = Number(process.env.AUDIT_BENCH_ROUNDS ?? 5);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const walls = runs.map(() => []);
const cpus = runs.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  runs.forEach(([name, args], i) => {
    const t0 = process.hrtime.bigint();
    const child = spawnSync('sh', ['-c', '"$@" > /dev/null || echo FAILED >&2; times', 'sh', process.execPath, '--max-semi-space-size=1', 'dist/cli.js', ...args, '--database', file], { encoding: 'utf8' });
    walls[i].push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (child.stderr.trim()) console.error(`${name}: ${child.stderr.trim()}`);
    const [user, system] = [...child.stdout.trim().split('\n').at(-1).matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    cpus[i].push(user + system);
  });
}
const results = runs.map(([name], i) => {
  const wall = median(walls[i]);
  return {
    command: name,
    wallSeconds: wall.toFixed(2),
    wallRange: `${Math.min(...walls[i]).toFixed(2)}-${Math.max(...walls[i]).toFixed(2)}`,
    cpuSeconds: median(cpus[i]).toFixed(2),
    under2s: wall < 2 ? 'yes' : 'NO',
    under1s: wall < 1 ? 'yes' : 'NO',
  };
});
const cases = reuse ? `${file} reused` : `${CASES.toLocaleString('en-GB')} cases built in ${buildSeconds.toFixed(1)} s`;
console.log(`${cases} (cases appended in arrival order, as the worker logs them); database ${(bytes / 1e6).toFixed(0)} MB = ${(bytes / CASES).toFixed(0)} bytes per case`);
console.table(results);
// For bench/run-bench.ts: one line of JSON, last.
console.log(JSON.stringify({ cases: CASES, bytesPerCase: Math.round(bytes / CASES), rounds: ROUNDS, results }));
if (dir) rmSync(dir, { recursive: true, force: true });
