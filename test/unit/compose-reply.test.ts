import { simpleParser, type ParsedMail } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import type { RenderedReply } from '../../src/core/render-reply.js';
import { composeReply, encodeQuotedPrintable } from '../../src/mail/compose-reply.js';

const DATE = new Date('2026-11-20T09:00:00Z');

function reply(overrides: Partial<RenderedReply> = {}): RenderedReply {
  return {
    from: 'rivermarsh.pcnalliance@nhs.net',
    to: 'debbie.marsh@northmere.nhs.uk',
    subject: 'Re: Request for U&E - Mr Dennis HOLLOWAY',
    messageId: '<pcn-autoreply.PCN-000004.5cf23ae2cd31@nhs.net>',
    inReplyTo: '<demo-01.sample@example.nhs.uk>',
    references: ['<thread-0@example.nhs.uk>', '<demo-01.sample@example.nhs.uk>'],
    headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All', 'X-PCN-Case-Id': 'PCN-000004' },
    text: 'Dear colleague,\n\nThank you for your message about "Request for U&E".\n\nKind regards,\nRiver & Marsh PCN Alliance\n',
    html: '<p>Dear colleague,</p>\n<p>Thank you for your message about &quot;Request for U&amp;E&quot;.</p>\n',
    ...overrides,
  };
}

/** What a mail client shows of a reply: the fields a hospital's reader sees and its threading. */
function visible(mail: ParsedMail) {
  return {
    from: mail.from?.value.map((a) => a.address),
    to: (Array.isArray(mail.to) ? mail.to : [mail.to]).flatMap((t) => t?.value.map((a) => a.address)),
    subject: mail.subject,
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    autoSubmitted: mail.headers.get('auto-submitted'),
    suppress: mail.headers.get('x-auto-response-suppress'),
    caseId: mail.headers.get('x-pcn-case-id'),
    text: mail.text,
    html: mail.html,
  };
}

/** How the reply was composed until 2026-11-27: nodemailer's general composer. */
async function viaNodemailer(r: RenderedReply): Promise<ParsedMail> {
  const options = {
    from: r.from,
    to: r.to,
    subject: r.subject,
    messageId: r.messageId,
    inReplyTo: r.inReplyTo ?? undefined,
    references: r.references.length ? r.references.join(' ') : undefined,
    headers: r.headers,
    text: r.text,
    html: r.html,
    date: DATE,
  };
  return simpleParser(await new MailComposer(options).compile().build());
}

const AWKWARD: Array<[string, Partial<RenderedReply>]> = [
  ['a plain reply', {}],
  ['a subject with accents and an emoji across encoded words', { subject: `Re: Demande urgente — résultats du patient 🩺 ${'é'.repeat(40)} fin` }],
  ['a long ASCII subject that must be folded', { subject: `Re: ${'Request for bloods and follow-up '.repeat(8)}end` }],
  ['a subject that is one very long word', { subject: `Re: ${'x'.repeat(1200)}` }],
  ['a subject with a line break in it', { subject: 'Re: first line\r\nBcc: someone@example.com' }],
  [
    'text with trailing spaces, equals signs, dots at line starts, long lines and non-ASCII',
    {
      text: `Line with trailing space \nTabs\t\n.dot at start\n=equals= and =3D\n${'a'.repeat(75)}\n${'b'.repeat(76)}\n${'c'.repeat(77)}\n${'é'.repeat(100)}\nCRLF line\r\nlast line without break`,
      html: `<p>${'Ünïcode '.repeat(30)}</p>\r\n<p>= ${'z'.repeat(200)}</p>`,
    },
  ],
  ['no In-Reply-To or References', { inReplyTo: null, references: [] }],
];

describe('composeReply', () => {
  it.each(AWKWARD)('%s: a mail client reads it exactly as nodemailer composed it', async (_name, overrides) => {
    const r = reply(overrides);
    const ours = await simpleParser(composeReply(r, DATE));
    const theirs = await viaNodemailer(r);
    expect(visible(ours)).toEqual(visible(theirs));
    expect(ours.date?.toISOString()).toBe(DATE.toISOString());
  });

  it.each(AWKWARD)('%s: lines end in CRLF, none over 998 octets, body lines at most 76 characters', (_name, overrides) => {
    const raw = composeReply(reply(overrides), DATE).toString('latin1');
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const [head, ...rest] = raw.split('\r\n\r\n');
    for (const line of head!.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    for (const line of rest.join('\r\n\r\n').split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(raw).not.toMatch(/[^\x00-\x7f]/);
  });

  it('an encoded subject keeps every line within RFC 2047\'s 76 characters, the first behind "Subject: " too', async () => {
    const subject = 'Re: Prescription request – Ms Renée CASTEL – Zoë O\'Brien – über-long subject that wraps';
    const raw = composeReply(reply({ subject }), DATE).toString('latin1');
    const head = raw.split('\r\n\r\n')[0]!.split('\r\n');
    const start = head.findIndex((line) => line.startsWith('Subject: '));
    const lines = [head[start]!, ...head.slice(start + 1).filter((line, i, all) => all.slice(0, i + 1).every((l) => l.startsWith(' ')))];
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(76);
    expect((await simpleParser(raw)).subject).toBe(subject);
  });

  it('a line break in the subject cannot add a header', async () => {
    const mail = await simpleParser(composeReply(reply({ subject: 'Re: hello\r\nBcc: someone@example.com' }), DATE));
    expect(mail.bcc).toBeUndefined();
    expect(mail.subject).toBe('Re: hello Bcc: someone@example.com');
  });

  it('quoted-printable keeps every byte, soft-breaks long lines and never splits an escape', () => {
    const text = `${'é'.repeat(50)} ${'='.repeat(30)} end `;
    const encoded = encodeQuotedPrintable(text);
    for (const line of encoded.split('\r\n')) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line, "an escape split across lines").not.toMatch(/=[0-9A-F]$/);
    }
    const decoded = Buffer.from(
      encoded.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toBe(text);
    expect(encoded.endsWith('end=20')).toBe(true);
  });
});
