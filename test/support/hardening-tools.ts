/**
 * Shared tools for the hardening tests (issue 6): a seeded PRNG so fault schedules reproduce, a
 * child-process runner that can be killed at any instant and whose peak memory is measured, a
 * labelled corpus built from the demo sample inbox, and a reader for the case log.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, REPO_ROOT, type CliResult } from './run-cli.js';

export const SAMPLE_NOW = '2026-11-20T09:00:00Z';
export const SHARED_MAILBOX = 'rivermarsh.pcnalliance@nhs.net';
export const EXAMPLE_POLICY = path.join(REPO_ROOT, 'config/policy.example.yaml');

/** mulberry32: tiny, fast and good enough to draw kill instants that a fixed seed reproduces. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RunningCli {
  pid: number;
  done: Promise<CliResult & { peakRssKb: number }>;
  kill(): void;
}

/**
 * Start the built CLI and hand back its pid at once, so a test can SIGKILL it at an instant of its
 * choosing. Peak memory is VmHWM from /proc (the kernel's own high-water mark), read just before exit
 * is observed; it stays 0 where /proc is missing.
 */
export function spawnCli(args: string[], env: Record<string, string | undefined>, options: { timeoutMs?: number; fileSizeLimitKb?: number } = {}): RunningCli {
  // A full disk, as one process meets it: no file it writes may grow past the limit (ulimit -f, in KB
  // in bash). The write then fails with EFBIG; SIGXFSZ, which would kill it first, is ignored.
  const [command, commandArgs] =
    options.fileSizeLimitKb === undefined
      ? [process.execPath, [CLI, ...args]]
      : ['bash', ['-c', `trap '' XFSZ; ulimit -f ${Math.floor(options.fileSizeLimitKb)}; exec "$@"`, 'bash', process.execPath, CLI, ...args]];
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let peakRssKb = 0;
  const sampleMemory = () => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakRssKb = Math.max(peakRssKb, Number(hwm[1]));
    } catch {
      // The process has gone: the last sample stands.
    }
  };
  const sampler = setInterval(sampleMemory, 25);
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult & { peakRssKb: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code, signal, stdout, stderr, peakRssKb });
    });
  });
  return { pid: child.pid!, done, kill: () => child.kill('SIGKILL') };
}

/** What the example policy must do with each demo sample message (as in worker-pass.test.ts). */
export const SAMPLE_EXPECTED: Record<string, 'replied' | 'review' | 'ignored' | 'filed'> = {
  '01-bloods.eml': 'replied',
  '02-echo.eml': 'replied',
  '03-prescribe.eml': 'replied',
  '04-dna.eml': 'replied',
  '05-fitnote.eml': 'replied',
  '06-urgent.eml': 'review',
  '07-out-of-office.eml': 'ignored',
  '08-patient.eml': 'filed',
  '09-discharge.eml': 'filed',
  '10-lookalike.eml': 'filed',
  '11-appointment.eml': 'replied',
  '12-onward.eml': 'replied',
};

export interface LabelledMessage {
  name: string;
  raw: Buffer;
  messageId: string;
  from: string;
  expected: string;
  /** False for urgent, automatic, non-hospital and information-only mail: a reply to it is a failure. */
  mayBeAnswered: boolean;
}

const SAMPLE_DIR = path.join(REPO_ROOT, 'data/sample-inbox');

export function sampleMessages(): Array<{ name: string; raw: Buffer }> {
  return fs
    .readdirSync(SAMPLE_DIR)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => ({ name, raw: fs.readFileSync(path.join(SAMPLE_DIR, name)) }));
}

/**
 * Copies of the sample inbox that are new messages to the worker: a unique Message-ID each, and a
 * unique sender address per copy (`name.<tag>@domain`, still matching the hospital's patterns) so the
 * per-sender daily cap does not turn expected replies into reviews.
 */
export function labelledCopies(tag: string, copies: number): LabelledMessage[] {
  const out: LabelledMessage[] = [];
  for (let copy = 0; copy < copies; copy++) {
    for (const sample of sampleMessages()) {
      const suffix = `${tag}c${copy}`;
      let text = sample.raw.toString('utf8');
      text = text.replace(/^(Message-ID:\s*<)([^>]+)>/im, (_m, head: string, id: string) => `${head}${suffix}.${id}>`);
      text = text.replace(/^(From:[^\r\n]*<)([^@>]+)@([^>]+)>/im, (_m, head: string, local: string, domain: string) => `${head}${local}.${suffix}@${domain}>`);
      const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(text)![1]!;
      const from = /^From:[^\r\n]*<([^>]+)>/im.exec(text)![1]!.toLowerCase();
      const expected = SAMPLE_EXPECTED[sample.name]!;
      out.push({ name: `${sample.name}#${suffix}`, raw: Buffer.from(text, 'utf8'), messageId, from, expected, mayBeAnswered: expected === 'replied' });
    }
  }
  return out;
}

export interface CaseRecord {
  id: number;
  message_id: string;
  status: string;
  category: string;
  from_address: string | null;
  reply_message_id: string | null;
  smtp_response: string | null;
  note: string | null;
  reasons: string;
  trace: string | null;
}

export function readCases(databasePath: string): CaseRecord[] {
  if (!fs.existsSync(databasePath)) return [];
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare('SELECT * FROM cases ORDER BY id').all() as CaseRecord[];
  } finally {
    db.close();
  }
}

export function readCaseEvents(databasePath: string): Array<{ case_id: number; note: string | null; [key: string]: unknown }> {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM case_events ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

/** Environment for a worker against a Dovecot (plain or TLS port, possibly behind a proxy) and an SMTP sink. */
export function workerEnv(opts: {
  imapPort: number;
  caPath: string;
  user: string;
  password: string;
  smtpPort: number;
  databasePath: string;
  policyFile?: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(opts.imapPort),
    IMAP_SECURE: 'true',
    IMAP_TLS_CA_FILE: opts.caPath,
    IMAP_USER: opts.user,
    IMAP_PASSWORD: opts.password,
    IMAP_TIMEOUT_MS: '5000',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(opts.smtpPort),
    SMTP_SECURE: 'false',
    SMTP_AUTH: 'none',
    SMTP_RETRY_DELAY_MS: '20',
    MAIL_FROM: SHARED_MAILBOX,
    POLICY_FILE: opts.policyFile ?? EXAMPLE_POLICY,
    DATABASE_PATH: opts.databasePath,
    LOG_LEVEL: 'info',
    ...opts.extra,
  };
}

/** Statuses a case may be left in once a clean pass has run: nothing half-done. */
export const SETTLED_STATUSES = new Set(['replied', 'review', 'filed', 'ignored', 'too_old', 'awaiting_approval']);
