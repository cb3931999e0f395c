import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { labelledCopies, readCases, SAMPLE_NOW, spawnCli, workerEnv } from '../support/hardening-tools.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Servers that fail: every failure ends the pass with a clear message and a non-zero exit (or is
 * retried within bounds), loses no state, and the next pass continues where this one left off.
 */
let dovecot: DovecotServer;
let sink: SmtpSink;
let proxy: TcpProxy;
let databasePath: string;

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink()]);
  // The TLS port behind the proxy: the test cuts and slows the IMAP connection between the two.
  proxy = await startTcpProxy(dovecot.tlsPort);
}, 120_000);

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop(), proxy?.stop()]);
});

beforeEach(async () => {
  databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-servers-')), 'cases.sqlite');
  sink.clear();
  proxy.setLatency(0);
  proxy.refuseConnections(false);
  await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', '*', 'all']);
});

const env = (extra: Record<string, string> = {}, port = dovecot.tlsPort) =>
  workerEnv({ imapPort: port, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath, extra });
const once = (extra: Record<string, string> = {}, port?: number) => spawnCli(['once', '--now', SAMPLE_NOW], env(extra, port), { timeoutMs: 90_000 }).done;

async function seedRequests(tag: string, copies = 1) {
  const messages = labelledCopies(tag, copies);
  await dovecot.seed('INBOX', messages.map((m) => m.raw));
  return messages;
}

/** The pass afterwards handles everything exactly once. */
async function expectRecovery(messages: ReturnType<typeof labelledCopies>) {
  const next = await once();
  expect(next.code, next.stderr).toBe(0);
  const cases = readCases(databasePath);
  expect(cases).toHaveLength(messages.length);
  const answerable = messages.filter((m) => m.mayBeAnswered).length;
  expect(sink.messages).toHaveLength(answerable);
  expect(new Set(sink.messages.map((m) => m.inReplyTo)).size).toBe(answerable);
}

describe('IMAP server failures', () => {
  it('a refused login exits 1 naming the settings to check, and records nothing', async () => {
    const messages = await seedRequests('login');
    const result = await once({ IMAP_PASSWORD: 'wrong-password' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused the login.*IMAP_USER and IMAP_PASSWORD/);
    expect(result.stderr).not.toContain('wrong-password');
    await expectRecovery(messages);
  });

  it('a missing mailbox exits 1 naming IMAP_MAILBOX', async () => {
    const result = await once({ IMAP_MAILBOX: 'No Such Folder' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mailbox "No Such Folder" cannot be opened \(check IMAP_MAILBOX\)/);
  });

  it('a server that is down exits 1 with a clear message', async () => {
    proxy.refuseConnections(true);
    const result = await once({ IMAP_TIMEOUT_MS: '3000' }, proxy.port);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/IMAP/);
    expect(result.stderr).not.toMatch(/unexpected error/);
  });

  it('a connection reset mid-pass ends the pass cleanly; the next pass continues where it left off', async () => {
    const messages = await seedRequests('reset', 3);
    // Cut once a few kilobytes of the fetch have come through: mid-pass, after some work is done.
    // Then every connection: a cut of the read-only second connection alone is survived by reading
    // through the first (test/integration/imap-bulk-reads.test.ts); here the server is gone.
    void proxy.cutAfterBytes(6_000).then(() => proxy.cutAll());
    const cut = await once({}, proxy.port);
    expect(cut.code, cut.stderr).toBe(1);
    expect(cut.stderr).toMatch(/IMAP connection (was lost|failed)/);
    expect(cut.stderr).not.toMatch(/unexpected error/);
    await expectRecovery(messages);
  });

  it('a server that stops answering ends the pass at IMAP_TIMEOUT_MS instead of hanging', async () => {
    const messages = await seedRequests('slow');
    proxy.setLatency(6_000);
    const started = Date.now();
    const slow = await once({ IMAP_TIMEOUT_MS: '1500' }, proxy.port);
    expect(slow.code, slow.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(slow.stderr).not.toMatch(/unexpected error/);
    proxy.setLatency(0);
    await expectRecovery(messages);
  });
});

describe('SMTP server failures', () => {
  it('421 and 451 are retried with backoff within the pass, a bounded number of times', async () => {
    const messages = await seedRequests('busy');
    const answerable = messages.filter((m) => m.mayBeAnswered).length;
    sink.failNext(2, 451);
    const result = await once({ SMTP_MAX_ATTEMPTS: '3', SMTP_RETRY_DELAY_MS: '50' });
    expect(result.code, result.stderr).toBe(0);
    expect(sink.messages).toHaveLength(answerable);
    expect(sink.rejected.filter((r) => r.code === 451)).toHaveLength(2);
  });

  it('a server that keeps refusing for now leaves the reply for the next pass, sent once then', async () => {
    const messages = await seedRequests('down');
    sink.failNext(100, 421);
    const first = await once({ SMTP_MAX_ATTEMPTS: '2', SMTP_RETRY_DELAY_MS: '20' });
    expect(first.code, first.stderr).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(readCases(databasePath).some((c) => c.status === 'decided')).toBe(true);
    sink.clear();
    await expectRecovery(messages);
    expect(readCases(databasePath).filter((c) => c.status === 'decided')).toEqual([]);
  });

  it('550 goes to review with the server\'s words and is not retried', async () => {
    await seedRequests('reject');
    sink.failNext(1, 550, 'Recipient address rejected: user unknown in virtual mailbox table');
    const result = await once();
    expect(result.code, result.stderr).toBe(0);
    const refused = readCases(databasePath).filter((c) => c.status === 'review' && /user unknown/.test(c.smtp_response ?? ''));
    expect(refused).toHaveLength(1);
    expect(sink.rejected.filter((r) => r.code === 550)).toHaveLength(1);
  });
});

describe('database failures', () => {
  it('a database locked by another program stops the pass without losing state; the next pass continues', async () => {
    const messages = await seedRequests('locked');
    expect((await once()).code).toBe(0);
    sink.clear();
    const more = await seedRequests('locked-more');
    const blocker = new Database(databasePath);
    blocker.pragma('busy_timeout = 0');
    blocker.exec('BEGIN EXCLUSIVE');
    try {
      const locked = await once();
      expect(locked.code).not.toBe(0);
      expect(locked.stderr).toMatch(/database/i);
      expect(locked.stderr).not.toMatch(/unexpected error/);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(sink.messages).toHaveLength(0);
    const next = await once();
    expect(next.code, next.stderr).toBe(0);
    expect(readCases(databasePath)).toHaveLength(messages.length + more.length);
    expect(sink.messages).toHaveLength(more.filter((m) => m.mayBeAnswered).length);
  });
  it('a full disk stops the pass without losing state or answering twice; the next pass continues', async () => {
    const first = await seedRequests('full');
    expect((await once()).code).toBe(0);
    sink.clear();
    const more = await seedRequests('full-more', 3);
    // Room for the log as it is and a few pages more: the pass fails part of the way through.
    const sizes = [databasePath, `${databasePath}-wal`].map((file) => (fs.existsSync(file) ? fs.statSync(file).size : 0));
    const full = await spawnCli(['once', '--now', SAMPLE_NOW], env(), { timeoutMs: 90_000, fileSizeLimitKb: Math.max(...sizes) / 1024 + 48 }).done;
    expect(full.code, full.stderr).toBe(1);
    expect(full.stderr).toMatch(/the database could not be written \(SQLITE_\w+\): the pass stopped without losing state; free disk space/);
    expect(full.stderr).not.toMatch(/unexpected error/i);
    // Every reply that left is on disk as on its way or sent, before it left.
    const during = readCases(databasePath);
    const sentDuring = sink.messages.map((m) => m.inReplyTo);
    expect(during.length).toBeLessThan(first.length + more.length);
    for (const inReplyTo of sentDuring) expect(['sending', 'replied']).toContain(during.find((c) => c.message_id === inReplyTo)?.status);
    const next = await once();
    expect(next.code, next.stderr).toBe(0);
    const cases = readCases(databasePath);
    expect(cases).toHaveLength(first.length + more.length);
    expect(new Set(cases.map((c) => c.message_id)).size).toBe(cases.length);
    // Each request answered once at most over both passes; one whose send the full disk left unknown waits for a person.
    const inReplyTo = sink.messages.map((m) => m.inReplyTo);
    expect(new Set(inReplyTo).size).toBe(inReplyTo.length);
    for (const message of more.filter((m) => m.mayBeAnswered)) {
      const status = cases.find((c) => c.message_id === message.messageId)?.status;
      expect(status === 'replied' ? inReplyTo : [status], message.name).toContain(status === 'replied' ? message.messageId : 'review');
    }
  });
});

describe('health alerts', () => {
  it('e-mails the admin once per incident: after repeated failures, and again only after a recovery and a new failure', async () => {
    const policyFile = path.join(path.dirname(databasePath), 'policy.yaml');
    fs.writeFileSync(
      policyFile,
      fs
        .readFileSync('config/policy.example.yaml', 'utf8')
        .replace('  maxConsecutiveFailures: 3\n  # alertTo: practice.manager@nhs.net', '  maxConsecutiveFailures: 2\n  alertTo: admin@example.test'),
    );
    const withPolicy = (extra: Record<string, string> = {}) => once({ POLICY_FILE: policyFile, ...extra });
    const alerts = () => sink.messages.filter((m) => m.to.includes('admin@example.test'));
    await seedRequests('health');

    for (let i = 0; i < 4; i++) expect((await withPolicy({ IMAP_PASSWORD: 'N0t-The-Pa55word' })).code).toBe(1);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.subject).toMatch(/not healthy/);
    expect(alerts()[0]!.autoSubmitted).toBe('auto-generated');
    expect(alerts()[0]!.text).not.toContain('N0t-The-Pa55word');

    expect((await withPolicy()).code).toBe(0);
    for (let i = 0; i < 2; i++) expect((await withPolicy({ IMAP_PASSWORD: 'N0t-The-Pa55word' })).code).toBe(1);
    expect(alerts()).toHaveLength(2);
  });
});
