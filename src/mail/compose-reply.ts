import { randomUUID } from 'node:crypto';
import type { RenderedReply } from '../core/render-reply.js';

/**
 * The reply as the bytes SMTP carries (RFC 5322 with MIME): a multipart/alternative of the plain text
 * and the HTML, each UTF-8 in quoted-printable. Our replies have this one shape, so it is written
 * here instead of by nodemailer's general composer, whose tree of streams cost about 0.7 ms of CPU a
 * reply in a live pass (issue 7); nodemailer still carries the bytes over SMTP.
 */
export function composeReply(reply: RenderedReply, date: Date): Buffer {
  const boundary = `----=_pcn-autoreply_${randomUUID()}`;
  const lines: string[] = [];
  for (const [name, value] of Object.entries(reply.headers)) lines.push(header(name, oneLine(value)));
  // Bare addresses (the policy's mailbox, a listed hospital's address): nothing to encode.
  lines.push(`From: ${oneLine(reply.from)}`);
  lines.push(`To: ${oneLine(reply.to)}`);
  if (reply.inReplyTo) lines.push(header('In-Reply-To', oneLine(reply.inReplyTo)));
  if (reply.references.length) lines.push(`References: ${reply.references.map(oneLine).join('\r\n ')}`);
  lines.push(subjectHeader(oneLine(reply.subject)));
  lines.push(header('Message-ID', oneLine(reply.messageId)));
  lines.push(header('Date', date.toUTCString().replace(/GMT$/, '+0000')));
  lines.push('MIME-Version: 1.0');
  lines.push(`Content-Type: multipart/alternative;\r\n boundary="${boundary}"`);
  lines.push('');
  lines.push(`--${boundary}`);
  lines.push(...textPart('text/plain', reply.text));
  lines.push(`--${boundary}`);
  lines.push(...textPart('text/html', reply.html));
  lines.push(`--${boundary}--`);
  lines.push('');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function textPart(contentType: string, body: string): string[] {
  return [`Content-Type: ${contentType}; charset=utf-8`, 'Content-Transfer-Encoding: quoted-printable', '', encodeQuotedPrintable(body)];
}

/** A header field's value never carries a line break of its own (no header can be injected). */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+\s*/g, ' ').trim();
}

function header(name: string, value: string): string {
  return `${name}: ${isPrintableAscii(value) ? value : encodeWords(value)}`;
}

/**
 * The subject folded at spaces (RFC 5322 2.2.3) when it is plain ASCII, else (or when a word alone
 * would make a line too long for SMTP) as RFC 2047 encoded words.
 */
function subjectHeader(subject: string): string {
  if (!isPrintableAscii(subject) || subject.split(' ').some((word) => word.length > 900)) return `Subject: ${encodeWords(subject)}`;
  const lines: string[] = [];
  let line = 'Subject:';
  for (const word of subject.split(' ')) {
    if (line.length + 1 + word.length > 76 && line !== 'Subject:' && line.trim() !== '') {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function isPrintableAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** RFC 2047 "B" encoded words of at most 75 characters, split between UTF-8 characters, one per folded line. */
function encodeWords(value: string): string {
  const words: string[] = [];
  // 39 bytes of UTF-8 become 52 base64 characters: with =?UTF-8?B? and ?=, 64, and behind
  // "Subject: " 73, inside RFC 2047's 76 (45 bytes made the first line 81).
  let chunk = '';
  let chunkBytes = 0;
  for (const character of value) {
    const bytes = Buffer.byteLength(character, 'utf8');
    if (chunkBytes + bytes > 39) {
      words.push(chunk);
      chunk = '';
      chunkBytes = 0;
    }
    chunk += character;
    chunkBytes += bytes;
  }
  if (chunk) words.push(chunk);
  return words.map((word) => `=?UTF-8?B?${Buffer.from(word, 'utf8').toString('base64')}?=`).join('\r\n ');
}

const HEX = '0123456789ABCDEF';

/**
 * Quoted-printable (RFC 2045 6.7) of the UTF-8 text: line breaks become CRLF, lines at most 76
 * characters with soft breaks that never split an =XX, spaces and tabs before a break encoded.
 */
export function encodeQuotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const bytes = Buffer.from(line, 'utf8');
    let current = '';
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      const last = i === bytes.length - 1;
      const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
      const piece = literal ? String.fromCharCode(byte) : `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
      // A soft break leaves room for its "=": 75 characters of content at most before it.
      if (current.length + piece.length > 75 && !(last && current.length + piece.length <= 76)) {
        out.push(`${current}=`);
        current = '';
      }
      current += piece;
    }
    out.push(current);
  }
  return out.join('\r\n');
}
