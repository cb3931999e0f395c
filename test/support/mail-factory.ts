/**
 * Builds RFC 5322 test messages as CRLF strings, the way hospital systems and Outlook send them,
 * without going through nodemailer (so tests control every header byte, odd ones included).
 */
import { randomBytes } from 'node:crypto';

export interface MailAttachment {
  filename: string;
  contentType?: string;
  content: Buffer | string;
}

export interface MailSpec {
  /** "Name <address>" or a bare address. */
  from?: string;
  to?: string | string[];
  cc?: string | string[];
  replyTo?: string;
  subject?: string;
  /** Plain-text body; LF or CRLF line ends both become CRLF. */
  body?: string;
  html?: string;
  messageId?: string;
  date?: Date;
  inReplyTo?: string;
  references?: string[];
  /** Extra headers, written as given (values are not encoded). */
  headers?: Record<string, string>;
  attachments?: MailAttachment[];
}

export const HOSPITAL_SENDER = 'Cardiology Outpatients <cardiology.outpatients@nhs.net>';
export const PCN_INBOX = 'Riverside PCN <inbox@example.test>';

const DEFAULT_SUBJECT = 'Request to GP: please arrange follow-up bloods - NHS No 999 000 0001';
const DEFAULT_BODY = [
  'Dear GP,',
  '',
  'This patient was seen in the cardiology clinic today. Please could you arrange a repeat',
  'U&E and full blood count in two weeks, and review the results with the patient.',
  'Please also continue to prescribe the new medication until the clinic letter follows.',
  '',
  'Kind regards,',
  '',
  'Cardiology Outpatients',
  'Example Hospitals NHS Foundation Trust',
].join('\n');

const RFC2822_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const RFC2822_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date in UTC ("Tue, 04 Nov 2025 09:15:00 +0000"). */
export function rfc2822Date(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${RFC2822_DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${RFC2822_MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

export function newMessageId(domain = 'nhs.net'): string {
  return `<${randomBytes(12).toString('hex')}@${domain}>`;
}

/** RFC 2047 encoded word for header text that is not plain ASCII; ASCII passes through. */
export function encodeHeaderWords(text: string): string {
   
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function encodeAddress(address: string): string {
  const match = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(address);
  if (!match || !match[1]) return address.trim();
  const name = match[1].replace(/^"|"$/g, '');
  const encodedName = encodeHeaderWords(name);
  const needsQuotes = encodedName === name && /[(),.:;<>@[\]\\"]/.test(name);
  return `${needsQuotes ? `"${name.replace(/(["\\])/g, '\\$1')}"` : encodedName} <${match[2]}>`;
}

function addressList(value: string | string[]): string {
  return (Array.isArray(value) ? value : [value]).map(encodeAddress).join(', ');
}

function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

function base64Lines(content: Buffer | string): string {
  return (Buffer.from(content).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

function textPart(contentType: 'text/plain' | 'text/html', text: string): string {
   
  const ascii = /^[\x00-\x7f]*$/.test(text);
  return (
    `Content-Type: ${contentType}; charset=utf-8\r\n` +
    `Content-Transfer-Encoding: ${ascii ? '7bit' : '8bit'}\r\n\r\n` +
    `${toCrlf(text)}${text.endsWith('\n') ? '' : '\r\n'}`
  );
}

function multipart(subtype: 'mixed' | 'alternative', parts: string[]): { header: string; body: string } {
  const boundary = `----=_Part_${randomBytes(8).toString('hex')}`;
  const body = parts.map((part) => `--${boundary}\r\n${part}`).join('\r\n') + `\r\n--${boundary}--\r\n`;
  return { header: `multipart/${subtype}; boundary="${boundary}"`, body };
}

/** Returns the whole message (headers, blank line, body) with CRLF line ends. */
export function buildMail(spec: MailSpec = {}): string {
  const headers: string[] = [
    `From: ${addressList(spec.from ?? HOSPITAL_SENDER)}`,
    `To: ${addressList(spec.to ?? PCN_INBOX)}`,
  ];
  if (spec.cc) headers.push(`Cc: ${addressList(spec.cc)}`);
  if (spec.replyTo) headers.push(`Reply-To: ${addressList(spec.replyTo)}`);
  headers.push(`Subject: ${encodeHeaderWords(spec.subject ?? DEFAULT_SUBJECT)}`);
  headers.push(`Date: ${rfc2822Date(spec.date ?? new Date())}`);
  headers.push(`Message-ID: ${spec.messageId ?? newMessageId()}`);
  if (spec.inReplyTo) headers.push(`In-Reply-To: ${spec.inReplyTo}`);
  const references = spec.references ?? (spec.inReplyTo ? [spec.inReplyTo] : []);
  if (references.length) headers.push(`References: ${references.join(' ')}`);
  for (const [name, value] of Object.entries(spec.headers ?? {})) headers.push(`${name}: ${value}`);
  headers.push('MIME-Version: 1.0');

  const text = spec.body ?? DEFAULT_BODY;
  let content: { header: string; body: string };
  const textOnly = textPart('text/plain', text);
  const readable = spec.html
    ? multipart('alternative', [textOnly, textPart('text/html', spec.html)])
    : undefined;
  if (spec.attachments?.length) {
    const attachmentParts = spec.attachments.map(
      (attachment) =>
        `Content-Type: ${attachment.contentType ?? 'application/octet-stream'}; name="${attachment.filename}"\r\n` +
        `Content-Disposition: attachment; filename="${attachment.filename}"\r\n` +
        'Content-Transfer-Encoding: base64\r\n\r\n' +
        `${base64Lines(attachment.content)}\r\n`,
    );
    const first = readable ? `Content-Type: ${readable.header}\r\n\r\n${readable.body}` : textOnly;
    content = multipart('mixed', [first, ...attachmentParts]);
  } else if (readable) {
    content = readable;
  } else {
    // A single text part: its Content-* headers join the message headers.
    return `${headers.join('\r\n')}\r\n${textOnly}`;
  }
  return `${headers.join('\r\n')}\r\nContent-Type: ${content.header}\r\n\r\n${content.body}`;
}
