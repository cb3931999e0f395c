import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { startFaultySmtpSink, type FaultySmtpSink } from '../support/hardening-servers.js';
import { labelledCopies, readCases, SAMPLE_NOW, spawnCli, workerEnv } from '../support/hardening-tools.js';

/** One worker per mailbox and database, and a crashed worker's lease does not block the next. */
let dovecot: DovecotServer;
let sink: FaultySmtpSink;
let databasePath: string;

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startFaultySmtpSink()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop()]);
});
beforeEach(async () => {
  databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-two-')), 'cases.sqlite');
  sink.clear();
  for (const box of await dovecot.mailboxes()) {
    if ((await dovecot.list(box).catch(() => [])).length) await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', box, 'all']);
  }
});

const env = (extra: Record<string, string> = {}) =>
  workerEnv({ imapPort: dovecot.tlsPort, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath, extra });
const once = (extra: Record<string, string> = {}) => spawnCli(['once', '--now', SAMPLE_NOW], env(extra)).done;

function readLeaseOwner(): string {
  if (!fs.existsSync(databasePath)) return '';
  try {
    const db = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT owner FROM lease WHERE name = 'worker'").get() as { owner: string } | undefined)?.owner ?? '';
    } finally {
      db.close();
    }
  } catch {
    return ''; // not created yet
  }
}

describe('two workers on the same mailbox and database', () => {
  it('a second worker started while the first holds the mailbox exits 3 naming the holder, and nothing is answered twice', async () => {
    const messages = labelledCopies('two', 3);
    const answerable = messages.filter((m) => m.mayBeAnswered);
    await dovecot.seed('INBOX', messages.map((m) => m.raw));

    // The first worker talks to IMAP through a slow link, so it still holds the mailbox when the second starts.
    const slowLink = await startTcpProxy(dovecot.tlsPort);
    slowLink.setLatency(250);
    const first = spawnCli(['once', '--now', SAMPLE_NOW], { ...env(), IMAP_PORT: String(slowLink.port) });
    // Start the second only once the first has taken the lease, so the race is decided, not hoped for.
    let firstStderr = '';
    const firstDone = first.done.then((result) => {
      firstStderr = result.stderr;
      return result;
    });
    await expect.poll(() => readLeaseOwner(), { timeout: 30_000, interval: 20 }).toMatch(new RegExp(`pid ${first.pid}$`));
    const second = await spawnCli(['once', '--now', SAMPLE_NOW], env()).done;
    const firstResult = await firstDone;
    await slowLink.stop();
    expect(firstResult.code, firstStderr).toBe(0);
    expect(second.code, second.stderr).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`another worker is already processing this mailbox \\(.+@.+ pid ${first.pid}\\)`));

    expect(sink.messages.length, firstResult.stdout).toBe(answerable.length);
    expect(new Set(sink.messages.map((m) => m.inReplyTo)).size).toBe(answerable.length);
    expect(readCases(databasePath)).toHaveLength(messages.length);
    // Afterwards either may run: the lease was released.
    const after = await once();
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/No new mail/);
  });

  it('two workers started at the same instant never process a message twice, whichever wins', async () => {
    const messages = labelledCopies('same', 2);
    const answerable = messages.filter((m) => m.mayBeAnswered);
    await dovecot.seed('INBOX', messages.map((m) => m.raw));
    const results = await Promise.all([once(), once()]);
    for (const result of results) expect([0, 3], result.stderr).toContain(result.code);
    expect(results.some((r) => r.code === 0)).toBe(true);
    expect(sink.messages).toHaveLength(answerable.length);
    expect(new Set(sink.messages.map((m) => m.inReplyTo)).size).toBe(answerable.length);
    expect(readCases(databasePath)).toHaveLength(messages.length);
  });

  it('a worker SIGKILLed while holding the lease does not block the next one (its pid is dead on this host)', async () => {
    const [request] = labelledCopies('stale', 1).filter((m) => m.mayBeAnswered);
    await dovecot.seed('INBOX', [request!.raw]);
    const crashed = await once({ PCN_CRASH_AT: 'after-record' });
    expect(crashed.signal).toBe('SIGKILL');
    const db = new Database(databasePath, { readonly: true });
    const lease = db.prepare('SELECT owner, expires_at FROM lease').get() as { owner: string; expires_at: number } | undefined;
    db.close();
    expect(lease, 'the killed worker left its lease behind').toBeDefined();
    expect(lease!.expires_at).toBeGreaterThan(Date.now());

    const next = await once();
    expect(next.code, next.stderr).toBe(0);
    expect(sink.messages).toHaveLength(1);
    expect(readCases(databasePath)[0]?.status).toBe('replied');
  });

  it('a lease held by a live process on this host is respected; an expired one from another host is taken', async () => {
    await dovecot.seed('INBOX', [labelledCopies('live', 1)[0]!.raw]);
    expect((await once()).code).toBe(0); // creates the database
    const db = new Database(databasePath);
    const holder = `someone@${os.hostname()} pid ${process.pid}`;
    db.prepare("INSERT OR REPLACE INTO lease (name, owner, expires_at) VALUES ('worker', ?, ?)").run(holder, Date.now() + 60_000);
    const blocked = await once();
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toContain(holder);

    db.prepare("UPDATE lease SET owner = 'someone@another-host pid 1', expires_at = ?").run(Date.now() - 1);
    db.close();
    const taken = await once();
    expect(taken.code, taken.stderr).toBe(0);
  });
});
