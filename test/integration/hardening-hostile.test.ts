import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHostileCases } from '../fixtures/hostile/generate.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startFaultySmtpSink, type FaultySmtpSink } from '../support/hardening-servers.js';
import { readCases, SAMPLE_NOW, sampleMessages, spawnCli, workerEnv } from '../support/hardening-tools.js';
import { REPO_ROOT } from '../support/run-cli.js';

/**
 * Hostile and broken mail through the whole worker: every message ends in a case with a reason,
 * the worker exits 0 with bounded memory, and nothing injected reaches a reply's headers or HTML.
 */
let dovecot: DovecotServer;
let sink: FaultySmtpSink;

beforeAll(async () => {
  [dovecot, sink] = await Promise.all([startDovecot(), startFaultySmtpSink()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop()]);
});

const RECENT_DATE = 'Thu, 19 Nov 2026 10:00:00 +0000';
const HOSTILE_DIR = path.join(REPO_ROOT, 'test/fixtures/hostile');

/** Recent dates, so every message reaches the body stage instead of stopping at "too old". */
function recent(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/^Date:[^\r\n]*/im, `Date: ${RECENT_DATE}`), 'latin1');
}

/** A clean hospital request whose fields carry script and header injection: it may be answered, safely. */
function injectedRequest(): Buffer {
  const bloods = sampleMessages().find((m) => m.name === '01-bloods.eml')!.raw.toString('utf8');
  const subject = `=?utf-8?B?${Buffer.from('Request for U&E <script>alert(1)</script>\r\nBcc: victim@evil.example\r\nX-Injected: yes', 'utf8').toString('base64')}?=`;
  const fromName = `=?utf-8?B?${Buffer.from('Debbie <script>x</script>\r\nX-Injected: yes', 'utf8').toString('base64')}?=`;
  return Buffer.from(
    bloods
      .replace(/^Message-ID:.*$/im, 'Message-ID: <injected-request@northmere.nhs.uk>')
      .replace(/^Subject:.*$/im, `Subject: ${subject}`)
      .replace(/^From:.*$/im, `From: ${fromName} <debbie.marsh.inj@northmere.nhs.uk>`)
      .replace(/(\r?\n\r?\n)/, '$1<script>alert(1)</script> '),
  );
}

describe('hostile and broken mail', () => {
  it('each ends in a case with a reason, the worker exits 0 with bounded memory, and replies carry nothing injected', async () => {
    const generated = generateHostileCases().filter((c) => c.raw.length > 0);
    const handWritten = fs
      .readdirSync(HOSTILE_DIR)
      .filter((name) => name.endsWith('.eml'))
      .map((name) => ({ name, raw: fs.readFileSync(path.join(HOSTILE_DIR, name)) }));
    const corpus = [...generated.map((c) => ({ name: c.name, raw: recent(c.raw) })), ...handWritten.map((c) => ({ name: c.name, raw: recent(c.raw) })), { name: 'injected-request', raw: injectedRequest() }];
    await dovecot.seed(
      'INBOX',
      corpus.map((c) => c.raw),
      { internalDates: corpus.map(() => new Date('2026-11-19T10:00:00Z')) },
    );
    const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-hostile-')), 'cases.sqlite');
    const result = await spawnCli(
      ['once', '--now', SAMPLE_NOW],
      workerEnv({ imapPort: dovecot.tlsPort, caPath: dovecot.caPath, user: dovecot.user, password: dovecot.password, smtpPort: sink.port, databasePath, extra: { IMAP_TIMEOUT_MS: '20000' } }),
      { timeoutMs: 180_000 },
    ).done;
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    console.log(`[hostile] ${corpus.length} messages, peak RSS ${Math.round(result.peakRssKb / 1024)} MB`);
    if (result.peakRssKb > 0) expect(result.peakRssKb, 'peak RSS of the worker in kB').toBeLessThan(300 * 1024);

    const cases = readCases(databasePath);
    expect(cases.length, 'one case per stored message').toBe(await countSeeded());
    for (const c of cases) {
      expect(['review', 'ignored', 'filed', 'too_old', 'replied'], `${c.message_id}`).toContain(c.status);
      expect(JSON.parse(c.reasons).length, `${c.message_id} has a reason`).toBeGreaterThan(0);
    }
    // The MIME-shape check (done in the parse thread) reaches each such case's trace.
    const shapeProblems: Record<string, RegExp> = {
      '<deep-html@hostile.test>': /HTML nested \d+ levels deep/,
      '<utf7@hostile.test>': /declared as UTF-7/,
      '<nested-multipart-50@hostile.test>': /\d+ multipart sections/,
    };
    for (const [messageId, problem] of Object.entries(shapeProblems)) {
      const found = cases.find((c) => c.message_id === messageId);
      expect(found?.status, `${messageId} is left for a person`).toBe('review');
      expect(JSON.parse(found!.trace!).parseProblems.join('\n'), `${messageId} trace`).toMatch(problem);
    }
    // Only clean requests may be answered; the broken ones must not be.
    const allowedReplies = new Set(['<injected-request@northmere.nhs.uk>', '<script@hostile.test>']);
    for (const c of cases.filter((row) => row.status === 'replied')) expect(allowedReplies, `${c.message_id} was answered`).toContain(c.message_id);

    expect(sink.messages.length).toBe(cases.filter((c) => c.status === 'replied').length);
    for (const reply of sink.messages) {
      for (const name of reply.headers.keys()) expect(['bcc', 'x-injected']).not.toContain(name);
      expect(reply.to).toHaveLength(1);
      expect(reply.subject).not.toMatch(/[\r\n]/);
      expect(reply.html).not.toMatch(/<script/i);
      expect(reply.html).not.toMatch(/<img src=x/i);
    }
    const injected = sink.messages.find((m) => m.inReplyTo === '<injected-request@northmere.nhs.uk>');
    if (injected) {
      if (/alert\(1\)/.test(injected.html)) expect(injected.html).toContain('&lt;script&gt;');
    } else {
      expect(cases.find((c) => c.message_id === '<injected-request@northmere.nhs.uk>')?.status).toBe('review');
    }
  }, 240_000);
});

async function countSeeded(): Promise<number> {
  let total = 0;
  for (const box of await dovecot.mailboxes()) total += (await dovecot.list(box).catch(() => [])).length;
  return total;
}
