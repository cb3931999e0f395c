import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseHeaderBlock } from '../../src/mail/parse-headers.js';
import { parseMessage, parseMessageSlow, tryParseMessageFast } from '../../src/mail/parse-message.js';
import { generateHostileCases } from '../fixtures/hostile/generate.js';

// The fast path (src/mail/parse-simple.ts) must give EXACTLY the MailMessage mailparser gives,
// for every message it accepts; it may decline and fall back.
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const dirs = [here('../fixtures/mail/'), here('../fixtures/holdout/'), here('../fixtures/hostile/'), here('../../data/sample-inbox/'), here('../../../shared/corpus/dev/')];

function emlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return emlFiles(path);
      return name.endsWith('.eml') ? [path] : [];
    })
    .sort();
}

const cases: Array<[string, Buffer]> = [
  ...dirs.flatMap((dir) => emlFiles(dir).map((path) => [path.slice(path.indexOf('/', path.indexOf('/work') + 6)), readFileSync(path)] as [string, Buffer])),
  ...generateHostileCases().map((entry) => [`hostile:${entry.name}`, entry.raw] as [string, Buffer]),
];

/** Variants of the accepted messages in the other shapes the fast path takes. */
function variants(name: string, raw: Buffer): Array<[string, Buffer]> {
  const text = raw.toString('latin1');
  const split = text.search(/\r?\n\r?\n/);
  if (split === -1) return [];
  const head = text.slice(0, split).replace(/^content-(type|transfer-encoding):.*(\r?\n[ \t].*)*\r?\n?/gim, '');
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const body = Buffer.from(text.slice(text.indexOf(nl + nl) + nl.length * 2), 'latin1');
  const b64 = body.toString('base64').replace(/.{76}/g, `$&${nl}`);
  const qp = body
    .toString('latin1')
    .replace(/[=\u0080-\u00ff]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(/[^\r\n]{70}(?=[^\r\n])/g, `$&=${nl}`);
  // `head` ends with a line break when the stripped Content-* fields were the last ones: drop it, or
  // the blank line it leaves would end the header block before the new fields.
  const mk = (headers: string, bodyText: string): Buffer => Buffer.from(`${head.replace(/(\r?\n)+$/, '')}${nl}${headers}${nl}${nl}${bodyText}`, 'latin1');
  const alt = (plainHeaders: string, plainBody: string): Buffer =>
    mk(
      'Content-Type: multipart/alternative; boundary="b1_alt"',
      `preamble${nl}--b1_alt${nl}${plainHeaders}${nl}${nl}${plainBody}${nl}--b1_alt${nl}Content-Type: text/html; charset=iso-8859-1${nl}Content-Transfer-Encoding: 8bit${nl}${nl}<p>${body.toString('latin1')}</p>${nl}--b1_alt--${nl}`,
    );
  // HTML-only variants (Outlook style): the body as HTML, in each transfer encoding and charset
  const html = `<html><head><style>p{margin:0}</style></head><body><div class=WordSection1><p class=MsoNormal>${body
    .toString('latin1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/\r?\n\r?\n/g, `</p>${nl}<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>`)
    .replace(/\r?\n/g, `<br>${nl}`)}</p></div></body></html>${nl}`;
  const htmlBytes = Buffer.from(html, 'latin1');
  const htmlB64 = htmlBytes.toString('base64').replace(/.{76}/g, `$&${nl}`);
  const htmlQp = html
    .replace(/[=\u0080-\u00ff]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(/[^\r\n]{70}(?=[^\r\n])/g, `$&=${nl}`);
  // multipart/mixed: the text body first, then attachments (a clinic letter as a PDF, a scan as an image).
  const attachment = (type: string, filename: string, bytes: Buffer, extra = ''): string =>
    `--b2_mix${nl}Content-Type: ${type}; name="${filename}"${nl}Content-Disposition: attachment; filename="${filename}"${extra}${nl}Content-Transfer-Encoding: base64${nl}${nl}${bytes.toString('base64').replace(/.{76}/g, `$&${nl}`)}${nl}`;
  const mixed = (first: string, ...attachments: string[]): Buffer =>
    mk('Content-Type: multipart/mixed; boundary="b2_mix"', `--b2_mix${nl}${first}${nl}${attachments.join('')}--b2_mix--${nl}`);
  const plainPart = `Content-Type: text/plain; charset="utf-8"${nl}Content-Transfer-Encoding: quoted-printable${nl}${nl}${qp}`;
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1f1a8b70000000049454e44ae426082', 'hex');
  return [
    [`${name}+mixed-pdf`, mixed(plainPart, attachment('application/pdf', 'clinic letter (1).pdf', PDF_BYTES, `; size=${PDF_BYTES.length};${nl} creation-date="Wed, 28 Jan 2026 11:20:52 GMT"`))],
    [`${name}+mixed-pdf-image`, mixed(plainPart, attachment('application/pdf', 'letter.pdf', PDF_BYTES), attachment('image/png', 'scan.png', png))],
    [`${name}+mixed-not-a-pdf`, mixed(plainPart, attachment('application/pdf', 'letter.pdf', Buffer.from('plain words, not a PDF')))],
    [`${name}+mixed-encoded-name`, mixed(plainPart, attachment('application/pdf', '=?UTF-8?Q?letter=C3=A9.pdf?=', PDF_BYTES))],
    [`${name}+html-qp`, mk(`Content-Type: text/html; charset="utf-8"${nl}Content-Transfer-Encoding: quoted-printable`, htmlQp)],
    [`${name}+html-b64`, mk(`Content-Type: text/html; charset=utf-8${nl}Content-Transfer-Encoding: base64`, htmlB64)],
    [`${name}+html-8bit`, mk(`Content-Type: text/html; charset=ISO-8859-1${nl}Content-Transfer-Encoding: 8bit`, html)],
    [`${name}+html-1252`, mk('Content-Type: text/html; charset="windows-1252"', html)],
    [`${name}+base64`, mk(`Content-Type: text/plain; charset="utf-8"${nl}Content-Transfer-Encoding: base64`, b64)],
    [`${name}+qp`, mk(`Content-Type: text/plain; charset=utf-8${nl}Content-Transfer-Encoding: quoted-printable`, qp)],
    [`${name}+latin1`, mk('Content-Type: text/plain; charset=ISO-8859-1', body.toString('latin1'))],
    [`${name}+1252`, mk('Content-Type: text/plain; charset=windows-1252', Buffer.from(body.toString('utf8'), 'latin1').toString('latin1'))],
    [`${name}+alt`, alt(`Content-Type: text/plain; charset="utf-8"${nl}Content-Transfer-Encoding: quoted-printable`, qp)],
    [`${name}+alt-b64`, alt('Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64', b64)],
  ];
}

const PDF_BYTES = (() => {
  const eml = readFileSync(here('../fixtures/mail/pdf-attachment.eml'), 'latin1');
  const base64 = /Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*?\r?\n([A-Za-z0-9+/=\r\n]+)/i.exec(eml.slice(eml.indexOf('application/pdf')));
  return Buffer.from(base64![1]!.replace(/\s+/g, ''), 'base64');
})();

const accepted = cases.filter(([, raw]) => tryParseMessageFast(raw) !== null);
const extra = accepted.flatMap(([name, raw]) => variants(name, raw));
const all = [...cases, ...extra];

describe('parse fast path', () => {
  it('takes most of the fixtures (and declines the rest)', () => {
    const taken = all.filter(([, raw]) => tryParseMessageFast(raw) !== null).length;
    console.log(`fast path took ${accepted.length} of ${cases.length} fixtures, ${taken} of ${all.length} with variants`);
    expect(accepted.length).toBeGreaterThan(cases.length / 3);
  });

  it('takes HTML-only messages (the Outlook shape)', () => {
    const htmlOnly = cases.filter(([, raw]) => /^content-type:\s*text\/html/im.test(raw.toString('latin1', 0, 4096)));
    const taken = htmlOnly.filter(([, raw]) => tryParseMessageFast(raw) !== null).length;
    console.log(`fast path took ${taken} of ${htmlOnly.length} fixtures whose first Content-Type is text/html`);
    expect(htmlOnly.length).toBeGreaterThan(0);
    expect(taken).toBeGreaterThan(htmlOnly.length / 2);
    expect(all.filter(([name, raw]) => name.includes('+html-') && tryParseMessageFast(raw) !== null).length).toBeGreaterThan(0);
  });

  it('builds each variant with the MIME type its name says, in the header block', () => {
    const declared = (name: string): string | null =>
      /\+mixed-/.test(name) ? 'multipart/mixed' : /\+alt/.test(name) ? 'multipart/alternative' : /\+html-/.test(name) ? 'text/html' : /\+(qp|base64|latin1|1252)$/.test(name) ? 'text/plain' : null;
    expect(extra.length).toBeGreaterThan(100);
    for (const [name, raw] of extra) expect([name, parseHeaderBlock(raw).contentType]).toEqual([name, declared(name)]);
  });

  it('takes text with plain attachments, and reads a simple PDF as unpdf does', () => {
    expect(PDF_BYTES.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const withPdf = all.filter(([name]) => name.endsWith('+mixed-pdf') || name.endsWith('+mixed-pdf-image'));
    expect(withPdf.length).toBeGreaterThan(10);
    const taken = withPdf.map(([, raw]) => tryParseMessageFast(raw)).filter((message) => message !== null);
    expect(taken.length).toBeGreaterThan(withPdf.length / 2);
    for (const message of taken) expect(message.attachments[0]?.text).toMatch(/please arrange a repeat HbA1c/);
    expect(all.filter(([name, raw]) => name.endsWith('+mixed-not-a-pdf') && tryParseMessageFast(raw)?.parseProblems.some((p) => p.includes('not a PDF'))).length).toBeGreaterThan(0);
    // An encoded-word file name is mailparser's to decode.
    expect(all.filter(([name, raw]) => name.endsWith('+mixed-encoded-name') && tryParseMessageFast(raw) !== null)).toEqual([]);
  });

  it.each(all)('%s: same MailMessage as the mailparser path', async (_name, raw) => {
    const slow = await parseMessageSlow(raw);
    const fast = tryParseMessageFast(raw);
    if (fast !== null) expect(fast).toStrictEqual(slow);
    expect(await parseMessage(raw)).toStrictEqual(slow);
  });
});

describe('parse fast path: the multipart boundaries, read from the bytes', () => {
  const attachment = Buffer.from('%PDF-1.4 not really a PDF but bytes all the same\n').toString('base64');
  const mixed = (options: { afterClose?: string; inText?: string; lineEnd?: string } = {}): Buffer => {
    const eol = options.lineEnd ?? '\r\n';
    const lines = [
      'From: Ward 9 <ward9@northmere.nhs.uk>',
      'To: inbox@nhs.net',
      'Subject: Bloods',
      'Message-ID: <m1@northmere.nhs.uk>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      'preamble',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Please arrange bloods.${options.inText ?? ''}`,
      '--b1',
      'Content-Type: application/octet-stream; name="data.bin"',
      'Content-Disposition: attachment; filename="data.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      attachment,
      '--b1--',
    ];
    return Buffer.concat([Buffer.from(lines.join(eol), 'latin1'), Buffer.from(options.afterClose ?? eol, 'latin1')]);
  };

  it.each([
    ['CRLF lines', mixed()],
    ['LF lines', mixed({ lineEnd: '\n' })],
    ['white space after the close delimiter, a no-break space included', mixed({ afterClose: '\r\n \t\u00a0\r\n' })],
    ['a close delimiter quoted later in the epilogue', mixed({ afterClose: '\r\nsee above --b1--\r\n' })],
  ])('takes %s, as the mailparser path reads them', async (_what, raw) => {
    const fast = tryParseMessageFast(raw);
    expect(fast).not.toBeNull();
    expect(fast!.attachments).toHaveLength(1);
    expect(fast).toStrictEqual(await parseMessageSlow(raw));
  });

  it.each([
    ['text after the close delimiter', mixed({ afterClose: '\r\nan epilogue\r\n' })],
    ['a line that starts like the delimiter inside a part', mixed({ inText: '\r\n--b1 not a delimiter' })],
    ['a delimiter with one character more', mixed({ inText: '\r\n--b1x' })],
    ['a carriage return without a line feed', mixed({ inText: ' one\rtwo' })],
    ['a second close delimiter line', mixed({ afterClose: '\r\n--b1--\r\n' })],
  ])('declines %s (the mailparser path reads it)', (_what, raw) => {
    expect(tryParseMessageFast(raw)).toBeNull();
  });
});
