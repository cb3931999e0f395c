/**
 * Fast path for the common shapes of hospital mail, which are most of the inbox: a single-part
 * text/plain or text/html body (the HTML turned into text by html-to-text.ts, as the mailparser
 * path does for an HTML-only message), or multipart/alternative with exactly one text/plain and one text/html part,
 * no attachments. It yields exactly the body text mailparser yields for the same bytes
 * (test/unit/parse-fast-path.test.ts compares the two over every fixture) at a fraction of the
 * cost: no stream pipeline, no setImmediate per chunk.
 *
 * It declines (returns null) whenever anything is unusual, and the caller then runs the
 * mailparser path: other content types or charsets, format=flowed, any parameter it does not
 * know, comments or encoded words in the MIME headers, a disposition, duplicate MIME headers,
 * a boundary that is not plain, a line that starts like the delimiter but is not one, bare CRs,
 * NUL bytes, base64 that is not canonical, quoted-printable with broken escapes, a large body.
 */

import { htmlToText } from './html-to-text.js';

/** Decodes a text part's bytes from its declared charset the way the mailparser path does. */
export type CharsetDecode = (bytes: Buffer, declared: string, problems: string[]) => string;

/** Bodies larger than this take the mailparser path (they are rare; the fast path is for the bulk). */
export const FAST_PATH_MAX_BODY_BYTES = 512 * 1024;

const ACCEPTED_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii', 'iso-8859-1', 'windows-1252']);
/** The names mailparser reads as UTF-8 without a charset decoder. */
const NATIVE_CHARSETS = new Set(['ascii', 'usascii', 'utf8']);
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** RFC 2046 bchars without the space; longer than the RFC's 70 because Outlook's often are. */
const PLAIN_BOUNDARY = /^[A-Za-z0-9'()+_,\-./:=?]{1,200}$/;

interface MimeHeaders {
  contentType: string | null;
  encoding: string | null;
  disposition: boolean;
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

/**
 * The body text for a message whose header block ends at bodyOffset, or null to decline.
 * Charset problems are pushed onto `problems` in the order mailparser would push them.
 */
export function parseSimpleBody(input: Buffer, bodyOffset: number, decode: CharsetDecode, problems: string[]): string | null {
  if (input.length - bodyOffset > FAST_PATH_MAX_BODY_BYTES) return null;
  if (bodyOffset > input.length || bodyOffset === 0) return null;
  const rootHeaders = readMimeHeaders(input.toString('latin1', 0, bodyOffset));
  if (!rootHeaders || rootHeaders.disposition) return null;
  const body = input.subarray(bodyOffset);
  if (body.includes(0)) return null;
  const bodyText = body.toString('latin1');
  if (/\r(?!\n)/.test(bodyText)) return null;

  const contentType = rootHeaders.contentType === null ? { type: 'text/plain', params: new Map<string, string>() } : parseContentType(rootHeaders.contentType);
  if (!contentType) return null;
  if (contentType.type === 'text/plain') {
    const local: string[] = [];
    const text = decodeTextPart(body, bodyText, rootHeaders.encoding, contentType, decode, local);
    if (text === null) return null;
    problems.push(...local);
    return text;
  }
  if (contentType.type === 'text/html') {
    const local: string[] = [];
    const html = decodeTextPart(body, bodyText, rootHeaders.encoding, contentType, decode, local);
    if (html === null) return null;
    problems.push(...local);
    return htmlToText(html);
  }
  if (contentType.type !== 'multipart/alternative') return null;
  if (contentType.params.size !== 1) return null;
  const boundary = contentType.params.get('boundary');
  if (!boundary || !PLAIN_BOUNDARY.test(boundary)) return null;
  const parts = splitParts(bodyText, boundary);
  if (!parts || parts.length !== 2) return null;

  const local: string[] = [];
  let plain: string | null = null;
  let sawHtml = false;
  for (const part of parts) {
    const headerEnd = findBlankLine(part);
    if (headerEnd === null) return null;
    const headers = readMimeHeaders(part.slice(0, headerEnd.headerEnd));
    if (!headers || headers.disposition || headers.contentType === null) return null;
    const partType = parseContentType(headers.contentType);
    if (!partType) return null;
    const partText = part.slice(headerEnd.bodyStart);
    const partBytes = Buffer.from(partText, 'latin1');
    if (partType.type === 'text/plain' && plain === null) {
      plain = decodeTextPart(partBytes, partText, headers.encoding, partType, decode, local);
      if (plain === null) return null;
    } else if (partType.type === 'text/html' && !sawHtml) {
      sawHtml = true;
      // mailparser does not turn the HTML alternative into text, but it does decode its charset
      // (and our decoder reports a mislabelled charset), so decode it for the same problems.
      if (decodeTextPart(partBytes, partText, headers.encoding, partType, decode, local) === null) return null;
    } else {
      return null;
    }
  }
  if (plain === null || !sawHtml) return null;
  problems.push(...local);
  return plain;
}

function decodeTextPart(
  bytes: Buffer,
  latin1: string,
  encodingHeader: string | null,
  contentType: ContentType,
  decode: CharsetDecode,
  problems: string[],
): string | null {
  for (const name of contentType.params.keys()) if (name !== 'charset') return null;
  const charset = contentType.params.get('charset') ?? 'utf-8';
  if (!ACCEPTED_CHARSETS.has(charset.toLowerCase())) return null;
  const encoding = (encodingHeader ?? '7bit').toLowerCase();
  let decoded: Buffer;
  if (encoding === '7bit' || encoding === '8bit' || encoding === 'binary') {
    decoded = bytes;
  } else if (encoding === 'base64') {
    const compact = latin1.replace(/[\r\n\t ]+/g, '');
    if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
    decoded = Buffer.from(compact, 'base64');
  } else if (encoding === 'quoted-printable') {
    const qp = decodeQuotedPrintable(latin1);
    if (qp === null) return null;
    decoded = qp;
  } else {
    return null;
  }
  if (decoded.includes(0)) return null;
  const text = NATIVE_CHARSETS.has(charset.toLowerCase().replace(/[^a-z0-9]+/g, '')) ? decoded.toString('utf8') : decode(decoded, charset, problems);
  return text.replace(/\r?\n/g, '\n');
}

/** libqp's decode, for input whose every "=" is a soft break or a valid escape (else null). */
function decodeQuotedPrintable(latin1: string): Buffer | null {
  const input = latin1.replace(/(^|[^ \t])[ \t]+(?=[\n\r]|$)/g, '$1').replace(/[=](?:\r?\n|$)/g, '');
  if (/=(?![0-9A-Fa-f]{2})/.test(input)) return null;
  const out = Buffer.allocUnsafe(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i += 1) {
    const code = input.charCodeAt(i);
    if (code === 0x3d) {
      out[length++] = parseInt(input.slice(i + 1, i + 3), 16);
      i += 2;
    } else {
      out[length++] = code;
    }
  }
  return out.subarray(0, length);
}

/**
 * The MIME header fields of a header block. Null when one is duplicated, when a line is not a
 * plain field, or a MIME value carries a comment, an encoded word or a non-ASCII byte.
 */
function readMimeHeaders(block: string): MimeHeaders | null {
  const result: MimeHeaders = { contentType: null, encoding: null, disposition: false };
  const fields: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.length === 0) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (fields.length === 0) return null;
      fields[fields.length - 1] += line;
    } else {
      fields.push(line);
    }
  }
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) return null;
    const name = field.slice(0, colon).toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) return null;
    if (name !== 'content-type' && name !== 'content-transfer-encoding' && name !== 'content-disposition') continue;
    const value = field.slice(colon + 1).trim();
    if (/[()\u0000-\u0008\u000a-\u001f\u007f-\u00ff\\]|=\?/.test(value)) return null;
    if (name === 'content-type') {
      if (result.contentType !== null) return null;
      result.contentType = value;
    } else if (name === 'content-transfer-encoding') {
      if (result.encoding !== null || !TOKEN.test(value)) return null;
      result.encoding = value;
    } else {
      result.disposition = true;
    }
  }
  return result;
}

/** `type/subtype; name=value; name="value"`, parameters lowercased by name; null if unusual. */
function parseContentType(value: string): ContentType | null {
  const pieces = value.split(';');
  const type = pieces[0]!.trim().toLowerCase();
  if (!/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type)) return null;
  const params = new Map<string, string>();
  for (let index = 1; index < pieces.length; index += 1) {
    const piece = pieces[index]!.trim();
    if (piece.length === 0) {
      if (index === pieces.length - 1) continue; // a trailing ";"
      return null;
    }
    const match = /^([A-Za-z0-9-]+)\s*=\s*(?:"([^"\\]*)"|([A-Za-z0-9!#$%&'*+.^_`|~\-/:=?]+))$/.exec(piece);
    if (!match) return null;
    const name = match[1]!.toLowerCase();
    if (params.has(name)) return null;
    const paramValue = match[2] ?? match[3]!;
    if (paramValue.length === 0) return null;
    params.set(name, paramValue);
  }
  return { type, params };
}

/**
 * The parts between `--boundary` lines, each without the line break that belongs to the next
 * delimiter. Null unless there is a first delimiter, a close delimiter, and no other line that
 * starts with `--boundary`; the preamble and epilogue may hold only text that is not a delimiter.
 */
function splitParts(body: string, boundary: string): string[] | null {
  const delimiter = `--${boundary}`;
  const lines: Array<{ start: number; end: number; next: number }> = [];
  let position = 0;
  while (position <= body.length) {
    let newline = body.indexOf('\n', position);
    if (newline === -1) newline = body.length;
    const end = newline > position && body.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
    lines.push({ start: position, end, next: newline + 1 });
    position = newline + 1;
  }
  const parts: string[] = [];
  let partStart = -1;
  let closed = false;
  for (const line of lines) {
    if (body.startsWith(delimiter, line.start) === false) continue;
    if (closed) return null;
    const rest = body.slice(line.start + delimiter.length, line.end);
    if (rest !== '' && rest !== '--') return null;
    if (partStart !== -1) {
      // the CRLF (or LF) before the delimiter line belongs to the delimiter
      let partEnd = line.start;
      if (partEnd > partStart && body.charCodeAt(partEnd - 1) === 10) partEnd -= 1;
      if (partEnd > partStart && body.charCodeAt(partEnd - 1) === 13) partEnd -= 1;
      if (partEnd < partStart) return null;
      parts.push(body.slice(partStart, partEnd));
    }
    if (rest === '--') {
      if (partStart === -1) return null;
      closed = true;
    } else {
      partStart = Math.min(line.next, body.length);
    }
  }
  if (!closed) return null;
  const epilogueStart = body.lastIndexOf(`${delimiter}--`);
  if (body.slice(epilogueStart + delimiter.length + 2).trim() !== '') return null;
  return parts;
}

function findBlankLine(part: string): { headerEnd: number; bodyStart: number } | null {
  const crlf = part.indexOf('\r\n\r\n');
  const lf = part.indexOf('\n\n');
  if (crlf === -1 && lf === -1) return null;
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return { headerEnd: lf, bodyStart: lf + 2 };
  return { headerEnd: crlf, bodyStart: crlf + 4 };
}
