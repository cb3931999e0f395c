import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseHeaderBlock, parseHeaderBlockWithProblems } from '../../src/mail/parse-headers.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import { generateHostileCases } from '../fixtures/hostile/generate.js';

const fixtureDirs = ['../fixtures/mail/', '../fixtures/hostile/', '../../../shared/corpus/dev/'].map((dir) =>
  fileURLToPath(new URL(dir, import.meta.url)),
);

function emlFiles(): Array<[string, Buffer]> {
  return fixtureDirs
    .filter((dir) => existsSync(dir))
    .flatMap((dir) =>
      readdirSync(dir)
        .filter((name) => name.endsWith('.eml'))
        .map((name): [string, Buffer] => [name, readFileSync(`${dir}${name}`)]),
    );
}

const h = (lines: string[]): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\nbody\r\n`, 'latin1');

describe('parseHeaderBlock', () => {
  it.each(emlFiles())('%s: agrees with parseMessage', async (_name, raw) => {
    const full = await parseMessage(raw);
    const { text: _t, newText: _n, quotedText: _q, footerText: _f, attachments: _a, parseProblems: _p, size: _s, ...fromFull } = full;
    expect(parseHeaderBlock(raw)).toEqual(fromFull);
  });

  it.each(generateHostileCases().filter((entry) => entry.raw.length < 1_000_000).map((entry) => [entry.name, entry.raw] as const))(
    'hostile %s: agrees with parseMessage',
    async (_name, raw) => {
      const full = await parseMessage(raw);
      const header = parseHeaderBlock(raw);
      expect(header.subject).toBe(full.subject);
      expect(header.from).toEqual(full.from);
      expect(header.messageId).toBe(full.messageId);
      expect(header.date).toEqual(full.date);
    },
  );

  it.each([
    ['folded subject', ['Subject: Request for', '\tbloods'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.subject).toBe('Request for\tbloods'.replace('\t', ' '))],
    ['encoded words joined', ['Subject: =?utf-8?Q?caf=C3=A9?= =?utf-8?Q?_au_lait?='], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.subject).toBe('café au lait')],
    ['null Return-Path', ['Return-Path: <>'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.returnPath).toBe('')],
    ['Return-Path address', ['Return-Path: <Bounce@Example.NHS.uk>'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.returnPath).toBe('bounce@example.nhs.uk')],
    ['no Return-Path', ['Subject: x'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.returnPath).toBeNull()],
    ['unbracketed Message-ID', ['Message-ID: abc.123@host.example'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.messageId).toBe('<abc.123@host.example>')],
    ['References list', ['References: <a@x> <b@x>', ' <c@x>'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.references).toEqual(['<a@x>', '<b@x>', '<c@x>'])],
    ['invalid date', ['Date: yesterday'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.date).toBeNull()],
    ['no Content-Type', ['Subject: x'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.contentType).toBe('text/plain')],
    ['Content-Type case', ['Content-Type: Multipart/Report; report-type=delivery-status'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.contentType).toBe('multipart/report')],
    ['gate headers lower-cased', ['AUTO-SUBMITTED: auto-replied', 'X-Auto-Response-Suppress: All', 'List-Id: <gp.list>', 'X-Autoreply: yes', 'X-Unrelated: no'], (m: ReturnType<typeof parseHeaderBlock>) =>
      expect(m.headers).toEqual({ 'auto-submitted': ['auto-replied'], 'x-auto-response-suppress': ['All'], 'list-id': ['<gp.list>'], 'x-autoreply': ['yes'] })],
    ['group and comma in display name', ['To: "Smith, Jo" <JO@X.nhs.uk>, Team: a@x.nhs.uk, b@x.nhs.uk;'], (m: ReturnType<typeof parseHeaderBlock>) =>
      expect(m.to).toEqual([{ name: 'Smith, Jo', address: 'jo@x.nhs.uk' }, { name: '', address: 'a@x.nhs.uk' }, { name: '', address: 'b@x.nhs.uk' }])],
    ['8-bit windows-1252 display name', ['From: Helen O\u0092Riordan <h@x.nhs.uk>'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.from?.name).toBe('Helen O’Riordan')],
    ['8-bit UTF-8 subject (RFC 6532)', [Buffer.from('Subject: Zoë', 'utf8').toString('latin1')], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.subject).toBe('Zoë')],
    ['From without an address', ['From: Mail Delivery System'], (m: ReturnType<typeof parseHeaderBlock>) => expect(m.from).toBeNull()],
  ])('%s', (_name, lines, check) => {
    check(parseHeaderBlock(h(lines)));
  });

  it('reads a 1,000-line header block quickly', () => {
    const raw = h(['From: a@x.nhs.uk', ...Array.from({ length: 5000 }, (_, index) => `X-Junk-${index}: ${'j'.repeat(70)}`)]);
    const started = performance.now();
    for (let round = 0; round < 20; round += 1) parseHeaderBlock(raw);
    // Catches quadratic blow-ups, not speed (the benchmark measures that): generous on a loaded machine.
    expect((performance.now() - started) / 20).toBeLessThan(1000);
    expect(parseHeaderBlock(raw).from?.address).toBe('a@x.nhs.uk');
  });

  it('gives a repeated address field (remembered by value) the same result, in objects of its own', () => {
    const lines = ['From: =?utf-8?Q?Zo=C3=AB_Kowalski?= <Zoe.Kowalski@staldrics.nhs.uk>', 'Reply-To: a@x.nhs.uk, "B, C" <b@x.nhs.uk>', 'To: PCN <pcn@nhs.net>'];
    const first = parseHeaderBlock(h(lines));
    const second = parseHeaderBlock(h(lines));
    expect(second).toEqual(first);
    expect(first.from).toEqual({ name: 'Zoë Kowalski', address: 'zoe.kowalski@staldrics.nhs.uk' });
    expect(first.replyTo.map((a) => a.address)).toEqual(['a@x.nhs.uk', 'b@x.nhs.uk']);
    expect(second.from).not.toBe(first.from);
    expect(second.replyTo).not.toBe(first.replyTo);
    first.from!.name = 'changed';
    first.replyTo.pop();
    expect(parseHeaderBlock(h(lines)).from?.name).toBe('Zoë Kowalski');
    expect(parseHeaderBlock(h(lines)).replyTo).toHaveLength(2);
    // The injection check travels with the remembered value.
    const hidden = ['From: =?utf-8?Q?Bad=0D=0ABcc:_x@evil.example?= <bad@x.nhs.uk>'];
    for (let round = 0; round < 2; round += 1) {
      expect(parseHeaderBlockWithProblems(h(hidden)).problems).toContain('the From display name hides line breaks or control characters (removed): a possible header injection');
    }
  });

  it.each([[Buffer.alloc(0)], [Buffer.from('\r\n\r\n')], [Buffer.from([0xff, 0xfe, 0x00, 0x0a])], [Buffer.alloc(400_000, 0x41)]])(
    'never throws on junk (%#)',
    (raw) => {
      expect(() => parseHeaderBlock(raw)).not.toThrow();
    },
  );
});

describe('where the header block ends', () => {
  /** RFC 5322 2.1 as the parser reads it: the first empty line, CRLF or bare LF, or none. */
  function expectedBodyOffset(raw: Buffer): number {
    const text = raw.toString('latin1');
    if (text.startsWith('\r\n')) return 2;
    if (text.startsWith('\n')) return 1;
    const match = /\r?\n\r?\n/.exec(text);
    return match ? match.index + match[0].length : raw.length;
  }

  it('is found at the first empty line, whatever mix of CRLF and LF comes before it', () => {
    const pieces = ['Subject: a', 'X', ':', ' ', '\r', '\n', '\r\n', '\r\n\r\n', '\n\n', '\n\r\n', '\r\n\n'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3000; i++) {
      const raw = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]).join(''), 'latin1');
      expect(parseHeaderBlockWithProblems(raw).bodyOffset, JSON.stringify(raw.toString('latin1'))).toBe(expectedBodyOffset(raw));
    }
  });

  it('is found after the headers of a message with a large body, and the body is not read as headers', () => {
    const body = `Subject: not a header\r\n\r\n${'QUJD'.repeat(70_000)}\r\n`;
    const raw = Buffer.from(`From: a@northmere.nhs.uk\r\nSubject: real\r\n\r\n${body}`, 'latin1');
    const result = parseHeaderBlockWithProblems(raw);
    expect(result.bodyOffset).toBe(raw.indexOf('\r\n\r\n') + 4);
    expect(result.headers.subject).toBe('real');
    expect(result.problems).toEqual([]);
  });
});
