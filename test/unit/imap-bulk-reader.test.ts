import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ImapBulkReader, ImapBulkReaderError, readFetchItems, ResponseSplitter, type ResponseParts } from '../../src/mail/imap-bulk-reader.js';
import { writeSelfSignedCertificate } from '../support/certificate.js';

/** A session as a server sends it: FETCH responses with literals (one empty, one holding a CRLF line and a brace), untagged noise, the tagged end. */
const SESSION = Buffer.from(
  [
    '* 1 FETCH (UID 7 RFC822.SIZE 120 INTERNALDATE "20-Nov-2026 08:00:00 +0000" BODY[HEADER] {24}\r\n',
    'Subject: {3}\r\nX: "y"\r\n\r\n',
    ')\r\n',
    '* 2 EXISTS\r\n',
    '* 2 FETCH (FLAGS (\\Seen $Junk) UID 9 BODY[]<0> {0}\r\n',
    ' RFC822.SIZE 0)\r\n',
    'B3 OK UID FETCH completed\r\n',
  ].join(''),
  'latin1',
);

function split(bytes: Buffer, cuts: number[]): ResponseParts[] {
  const splitter = new ResponseSplitter();
  const out: ResponseParts[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...splitter.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return out;
}

describe('splitting a connection into responses', () => {
  const whole = split(SESSION, []);

  it('reads lines, literals (an empty one too) and the text that follows a literal', () => {
    expect(whole).toHaveLength(4);
    expect(whole[0]).toEqual(['* 1 FETCH (UID 7 RFC822.SIZE 120 INTERNALDATE "20-Nov-2026 08:00:00 +0000" BODY[HEADER] ', Buffer.from('Subject: {3}\r\nX: "y"\r\n\r\n', 'latin1'), ')']);
    expect(whole[1]).toEqual(['* 2 EXISTS']);
    expect(whole[2]).toEqual(['* 2 FETCH (FLAGS (\\Seen $Junk) UID 9 BODY[]<0> ', Buffer.alloc(0), ' RFC822.SIZE 0)']);
    expect(whole[3]).toEqual(['B3 OK UID FETCH completed']);
  });

  it('gives the same responses wherever the bytes are cut, once or twice', () => {
    for (let a = 1; a < SESSION.length; a++) {
      expect(split(SESSION, [a]), `cut at ${a}`).toEqual(whole);
      const b = Math.min(SESSION.length - 1, a + 1 + (a % 7));
      if (b > a) expect(split(SESSION, [a, b]), `cuts at ${a} and ${b}`).toEqual(whole);
    }
  });

  it('refuses a line or a literal too large to be an answer to a FETCH', () => {
    expect(() => new ResponseSplitter().push(Buffer.from('* 1 FETCH (BODY[] {99999999999}\r\n'))).toThrow(ImapBulkReaderError);
    expect(() => new ResponseSplitter().push(Buffer.alloc(2 * 1024 * 1024, 0x41))).toThrow(/too long/);
  });
});

describe('reading the data items of a FETCH response', () => {
  it('reads numbers, quoted strings with escapes, NIL, lists, literals and section names with spaces', () => {
    const parts: ResponseParts = ['* 3 FETCH (UID 12 X-Q "a \\"b\\" \\\\c" ENVELOPE NIL FLAGS (\\Seen (nested "x")) BODY[HEADER.FIELDS (FROM TO)] ', Buffer.from('From: a\r\n\r\n'), ' BODY[]<0> ', Buffer.from('raw'), ')'];
    const items = readFetchItems(parts, '* 3 FETCH '.length);
    expect(items.get('uid')).toBe('12');
    expect(items.get('x-q')).toBe('a "b" \\c');
    expect(items.get('envelope')).toBeNull();
    expect(items.get('flags')).toEqual(['\\Seen', ['nested', 'x']]);
    expect(items.get('body[header.fields (from to)]')).toEqual(Buffer.from('From: a\r\n\r\n'));
    expect(items.get('body[]<0>')).toEqual(Buffer.from('raw'));
  });

  it('reports a response it cannot read instead of guessing', () => {
    expect(() => readFetchItems(['* 1 FETCH (UID 1 BODY[] '], '* 1 FETCH '.length)).toThrow(ImapBulkReaderError);
    expect(() => readFetchItems(['* 1 FETCH (UID "open'], '* 1 FETCH '.length)).toThrow(/not closed/);
    expect(() => readFetchItems(['* 1 FETCH UID'], '* 1 FETCH '.length)).toThrow(/without its list/);
  });
});

/** A TLS server that answers each command line with what `answer` returns (tag substituted). */
async function scriptedServer(answer: (command: string, tag: string) => string, greeting = '* OK ready\r\n'): Promise<{ port: number; ca: Buffer; commands: string[]; close(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-bulk-'));
  const { certPem, keyPem } = writeSelfSignedCertificate(dir);
  const commands: string[] = [];
  const server = tls.createServer({ cert: certPem, key: keyPem }, (socket) => {
    socket.write(greeting);
    let buffered = '';
    let lastTag = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline).replace(/\r$/, '');
        buffered = buffered.slice(newline + 1);
        // A line without a tag continues the last command (an AUTHENTICATE response).
        const [tag, ...rest] = line.includes(' ') ? line.split(' ') : [lastTag, line];
        lastTag = tag!;
        commands.push(rest.join(' '));
        const reply = answer(rest.join(' '), tag!);
        // One byte per write: the reader must put responses back together from any cut.
        for (const byte of Buffer.from(reply, 'latin1')) socket.write(Buffer.from([byte]));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, ca: Buffer.from(certPem), commands, close: () => server.close() };
}

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function open(port: number, ca: Buffer, extra: Partial<Parameters<typeof ImapBulkReader.open>[0]> = {}) {
  return ImapBulkReader.open({ host: '127.0.0.1', port, user: 'pcn "shared"', password: 'p\\w', tlsRejectUnauthorized: true, ca, timeoutMs: 2000, ...extra });
}

describe('a bulk-read session', () => {
  it('logs in with quoted names, examines read-only, fetches, and logs out', async () => {
    const server = await scriptedServer((command, tag) => {
      if (command.startsWith('LOGIN')) return `${tag} OK logged in\r\n`;
      if (command.startsWith('EXAMINE')) return `* 3 EXISTS\r\n* OK [UIDVALIDITY 4242] UIDs valid\r\n${tag} OK [READ-ONLY] done\r\n`;
      if (command.startsWith('UID FETCH')) return `${SESSION.toString('latin1').replace('B3 OK', `${tag} OK`)}`;
      if (command === 'LOGOUT') return `* BYE bye\r\n${tag} OK logged out\r\n`;
      return `${tag} BAD what\r\n`;
    });
    servers.push(server);
    const reader = await open(server.port, server.ca);
    expect(await reader.examine('INBOX')).toBe('4242');
    const fetched = await reader.fetch('7:9', 'UID RFC822.SIZE BODY.PEEK[HEADER]');
    expect(fetched.map((item) => item.get('uid'))).toEqual(['7', '9']);
    expect(fetched[0]!.get('body[header]')).toEqual(Buffer.from('Subject: {3}\r\nX: "y"\r\n\r\n', 'latin1'));
    await reader.close();
    expect(server.commands).toEqual(['LOGIN "pcn \\"shared\\"" "p\\\\w"', 'EXAMINE "INBOX"', 'UID FETCH 7:9 (UID RFC822.SIZE BODY.PEEK[HEADER])', 'LOGOUT']);
  });

  it('sends an OAuth token as XOAUTH2 with an initial response, and cancels a challenge', async () => {
    const server = await scriptedServer((command, tag) => (command.startsWith('AUTHENTICATE') ? '+ eyJzdGF0dXMiOiI0MDEifQ==\r\n' : command === '*' ? `${tag} NO token refused\r\n` : `${tag} BAD\r\n`));
    servers.push(server);
    await expect(open(server.port, server.ca, { accessToken: 'token-1' })).rejects.toThrow(/NO: token refused/);
    expect(Buffer.from(server.commands[0]!.split(' ')[2]!, 'base64').toString()).toBe('user=pcn "shared"\x01auth=Bearer token-1\x01\x01');
  });

  it('fails, for the caller to fall back, on a refused login, a BYE greeting, a name it cannot quote, or silence', async () => {
    const refusing = await scriptedServer((_command, tag) => `${tag} NO [AUTHENTICATIONFAILED] no\r\n`);
    const bye = await scriptedServer(() => '', '* BYE too many connections\r\n');
    const silent = await scriptedServer(() => '');
    servers.push(refusing, bye, silent);
    await expect(open(refusing.port, refusing.ca)).rejects.toThrow(ImapBulkReaderError);
    await expect(open(bye.port, bye.ca)).rejects.toThrow(/unexpected greeting/);
    await expect(open(refusing.port, refusing.ca, { user: 'näme' })).rejects.toThrow(/needs a literal/);
    const started = Date.now();
    await expect(open(silent.port, silent.ca, { timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
