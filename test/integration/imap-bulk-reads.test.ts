import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ImapBulkReader } from '../../src/mail/imap-bulk-reader.js';
import { ImapSource } from '../../src/mail/imap-source.js';
import type { HeaderItem } from '../../src/mail/mail-source.js';
import { generateHostileCases } from '../fixtures/hostile/generate.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { sampleMessages } from '../support/hardening-tools.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * The second, read-only connection (src/mail/imap-bulk-reader.ts) against Dovecot: the same headers,
 * sizes, dates and sources as imapflow reads, byte for byte, over awkward mail; and when that
 * connection cannot be opened or breaks mid-fetch, the same answers through imapflow, with a notice.
 */
let dovecot: DovecotServer;
let proxy: TcpProxy;
const MAX_BYTES = 64 * 1024;

beforeAll(async () => {
  dovecot = await startDovecot();
  proxy = await startTcpProxy(dovecot.tlsPort);
  const hostile = generateHostileCases().filter((c) => c.raw.length > 0 && c.raw.length < 5 * 1024 * 1024);
  const big = Buffer.from(`From: a@northmere.nhs.uk\r\nSubject: big\r\nMessage-ID: <big@x>\r\n\r\n${'0123456789abcdef\r\n'.repeat(10_000)}`, 'latin1');
  await dovecot.seed('INBOX', [...sampleMessages().map((m) => m.raw), ...hostile.map((c) => c.raw), big]);
}, 120_000);

afterAll(async () => {
  await Promise.all([dovecot?.stop(), proxy?.stop()]);
});

function source(options: { bulkReads: boolean; port?: number; notices?: string[]; commands?: string[] }): ImapSource {
  return new ImapSource({
    host: '127.0.0.1',
    port: options.port ?? dovecot.tlsPort,
    secure: true,
    user: dovecot.user,
    password: dovecot.password,
    mailbox: 'INBOX',
    tlsRejectUnauthorized: true,
    tlsCaFile: dovecot.caPath,
    timeoutMs: 20_000,
    bulkReads: options.bulkReads,
    onNotice: (message) => options.notices?.push(message),
    onCommand: (command) => options.commands?.push(command),
  });
}

async function readAll(imap: ImapSource): Promise<{ headers: HeaderItem[]; sources: Map<number, { source: Buffer; truncated: boolean }> }> {
  await imap.open();
  try {
    const uids = await imap.listUids(0);
    return { headers: await imap.headers(uids), sources: await imap.sources(uids, MAX_BYTES) };
  } finally {
    await imap.close();
  }
}

describe('reading over a second connection', () => {
  it('gives what imapflow gives, byte for byte, for every message (large, hostile and 8-bit ones included)', async () => {
    const commands: string[] = [];
    const notices: string[] = [];
    const expected = await readAll(source({ bulkReads: false }));
    const bulkFetches = vi.spyOn(ImapBulkReader.prototype, 'fetch');
    const actual = await readAll(source({ bulkReads: true, commands, notices }));
    expect(bulkFetches.mock.calls.length, 'headers and sources read over the second connection').toBeGreaterThanOrEqual(2);
    bulkFetches.mockRestore();
    expect(expected.headers.length).toBeGreaterThan(30);
    expect(actual.headers).toEqual(expected.headers);
    expect([...actual.sources.entries()]).toEqual([...expected.sources.entries()]);
    expect([...actual.sources.values()].some((s) => s.truncated), 'a message over the limit arrives cut and flagged').toBe(true);
    expect(commands).toContain('EXAMINE');
    expect(notices).toEqual([]);
  });

  it('reads a message that arrived after the second connection opened', async () => {
    const imap = source({ bulkReads: true });
    await imap.open();
    try {
      imap.prepareReads();
      const before = await imap.listUids(0);
      await imap.headers(before.slice(0, 1));
      await dovecot.seed('INBOX', [Buffer.from('From: late@northmere.nhs.uk\r\nSubject: late\r\nMessage-ID: <late@x>\r\n\r\nhello\r\n')]);
      // The control connection learns of it (as a new pass's would); the second one is not told.
      await (imap as unknown as { client: { noop(): Promise<void> } }).client.noop();
      const after = await imap.listUids(0);
      expect(after.length).toBe(before.length + 1);
      const late = after[after.length - 1]!;
      const headers = await imap.headers([late]);
      expect(headers.map((item) => item.header.toString())).toEqual([expect.stringContaining('Subject: late')]);
      expect((await imap.sources([late], MAX_BYTES)).get(late)?.source.toString()).toContain('hello');
    } finally {
      await imap.close();
    }
  });

  it('reads through imapflow, and says so, when the second connection cannot be opened', async () => {
    const notices: string[] = [];
    const expected = await readAll(source({ bulkReads: false }));
    const imap = source({ bulkReads: true, port: proxy.port, notices });
    await imap.open();
    proxy.refuseConnections(true);
    try {
      const uids = await imap.listUids(0);
      expect(await imap.headers(uids)).toEqual(expected.headers);
    } finally {
      proxy.refuseConnections(false);
      await imap.close();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/second connection could not be used/);
  });

  it('reads through imapflow, and says so, when the second connection breaks mid-fetch', async () => {
    const notices: string[] = [];
    const expected = await readAll(source({ bulkReads: false }));
    const imap = source({ bulkReads: true, port: proxy.port, notices });
    await imap.open();
    try {
      const uids = await imap.listUids(0);
      // The first read opens the second connection; the cut then falls inside its source fetch.
      expect(await imap.headers(uids)).toEqual(expected.headers);
      const cut = proxy.cutAfterBytes(50_000);
      expect(await imap.sources(uids, MAX_BYTES)).toEqual(expected.sources);
      await cut;
    } finally {
      await imap.close();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/a fetch failed/);
  });
});
