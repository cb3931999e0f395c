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

import { decodeCanonicalBase64 } from './canonical-base64.js';
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
  /** The Content-Disposition value, null when there is none. */
  disposition: string | null;
}

/** An attachment as mailparser lists it: its decoded bytes are for the caller to measure or read. */
export interface SimpleAttachment {
  filename: string | null;
  contentType: string;
  /**
   * Valid only until the next parseSimpleBody() call in this thread: attachments are decoded into
   * buffers reused from message to message (see attachmentBuffer). Read them before parsing another.
   */
  bytes: Buffer;
}

export interface SimpleBody {
  text: string;
  attachments: SimpleAttachment[];
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

/**
 * The body text (and attachments) for a message whose header block ends at bodyOffset, or null to
 * decline. Charset problems are pushed onto `problems` in the order mailparser would push them.
 */
export function parseSimpleBody(input: Buffer, bodyOffset: number, decode: CharsetDecode, problems: string[]): SimpleBody | null {
  if (input.length - bodyOffset > FAST_PATH_MAX_BODY_BYTES) return null;
  if (bodyOffset > input.length || bodyOffset === 0) return null;
  const rootHeaders = readMimeHeaders(input.toString('latin1', 0, bodyOffset));
  if (!rootHeaders || rootHeaders.disposition !== null) return null;
  const body = input.subarray(bodyOffset);
  // Read as bytes, never as one string: a string of a 285 KB message is V8's large-object space,
  // fresh memory each time (issue 7: 1.1 ms per PDF message in the parse thread).
  if (body.includes(0) || hasBareCarriageReturn(body)) return null;

  const contentType = rootHeaders.contentType === null ? { type: 'text/plain', params: new Map<string, string>() } : parseContentType(rootHeaders.contentType);
  if (!contentType) return null;
  const local: string[] = [];
  let result: SimpleBody | null;
  if (contentType.type === 'text/html') {
    const html = decodeTextPart(body, rootHeaders.encoding, contentType, decode, local);
    result = html === null ? null : { text: htmlToText(html), attachments: [] };
  } else if (contentType.type === 'multipart/mixed') {
    result = mixedBody(body, contentType, decode, local);
  } else {
    const text = textBody(body, rootHeaders.encoding, contentType, decode, local);
    result = text === null ? null : { text, attachments: [] };
  }
  if (result === null) return null;
  problems.push(...local);
  return result;
}

/** text/plain, or multipart/alternative of one text/plain and one text/html: the plain text. */
function textBody(bytes: Buffer, encoding: string | null, contentType: ContentType, decode: CharsetDecode, problems: string[]): string | null {
  if (contentType.type === 'text/plain') return decodeTextPart(bytes, encoding, contentType, decode, problems);
  if (contentType.type !== 'multipart/alternative') return null;
  const parts = multipartParts(bytes, contentType);
  if (!parts || parts.length !== 2) return null;
  let plain: string | null = null;
  let sawHtml = false;
  for (const part of parts) {
    if (part.headers.disposition !== null || part.headers.contentType === null) return null;
    if (part.type.type === 'text/plain' && plain === null) {
      plain = decodeTextPart(part.bytes, part.headers.encoding, part.type, decode, problems);
      if (plain === null) return null;
    } else if (part.type.type === 'text/html' && !sawHtml) {
      sawHtml = true;
      // mailparser does not turn the HTML alternative into text, but it does decode its charset
      // (and our decoder reports a mislabelled charset), so decode it for the same problems.
      if (decodeTextPart(part.bytes, part.headers.encoding, part.type, decode, problems) === null) return null;
    } else {
      return null;
    }
  }
  return plain !== null && sawHtml ? plain : null;
}

/**
 * multipart/mixed: a text body first (mailparser turns an HTML-only one into text its own way, so
 * that is declined), then attachments only. An attachment must say so (Content-Disposition:
 * attachment), be base64, and be of a type mailparser never reads as text or a nested message.
 */
function mixedBody(bytes: Buffer, contentType: ContentType, decode: CharsetDecode, problems: string[]): SimpleBody | null {
  const parts = multipartParts(bytes, contentType);
  if (!parts || parts.length < 2) return null;
  const [first, ...rest] = parts as [MimePart, ...MimePart[]];
  if (first.headers.disposition !== null || first.headers.contentType === null) return null;
  const text = textBody(first.bytes, first.headers.encoding, first.type, decode, problems);
  if (text === null) return null;
  const attachments: SimpleAttachment[] = [];
  for (const [index, part] of rest.entries()) {
    const attachment = attachmentPart(part, index);
    if (attachment === null) return null;
    attachments.push(attachment);
  }
  return { text, attachments };
}

const ATTACHMENT_TYPE = /^(application|image|audio|video)\/[a-z0-9.+-]+$/;
/** Disposition parameters mailparser reads nothing from but the name (RFC 2183 2.2 - 2.7). */
const IGNORED_DISPOSITION_PARAMS = new Set(['filename', 'size', 'creation-date', 'modification-date', 'read-date']);
/** A name as it stands: no encoded words (=?), no RFC 2231 continuations, nothing cleanFilename would change. */
const PLAIN_FILENAME = /^[A-Za-z0-9 ._()+,'&-]{1,200}$/;

/**
 * Decoded attachments, one buffer per position in the message, reused from message to message:
 * a fresh 200 KB buffer per PDF is memory the system maps and faults in each time (the worker's
 * malloc hands blocks over 128 KB straight back, docs/deploy/), 0.8 ms of the parse thread here.
 */
const attachmentBuffers: Buffer[] = [];
/** Larger attachments get a buffer of their own, so that a rare big one is not kept for good. */
const MAX_REUSED_ATTACHMENT_BYTES = 1024 * 1024;

function attachmentBuffer(index: number, encodedLength: number): Buffer | undefined {
  const largest = Math.ceil(encodedLength / 4) * 3;
  if (largest > MAX_REUSED_ATTACHMENT_BYTES) return undefined;
  const reused = attachmentBuffers[index];
  if (reused && reused.length >= largest) return reused;
  const grown = Buffer.allocUnsafeSlow(largest);
  attachmentBuffers[index] = grown;
  return grown;
}

function attachmentPart(part: MimePart, index: number): SimpleAttachment | null {
  const { headers, type } = part;
  if (headers.contentType === null || headers.disposition === null || !ATTACHMENT_TYPE.test(type.type)) return null;
  if ((headers.encoding ?? '').toLowerCase() !== 'base64') return null;
  const disposition = parseContentType(`attachment/x${headers.disposition.replace(/^\s*attachment\s*(?=;|$)/i, '')}`);
  if (!disposition || !/^\s*attachment\s*(;|$)/i.test(headers.disposition)) return null;
  for (const name of disposition.params.keys()) if (!IGNORED_DISPOSITION_PARAMS.has(name)) return null;
  for (const name of type.params.keys()) if (name !== 'name') return null;
  const fromDisposition = disposition.params.get('filename');
  const fromType = type.params.get('name');
  if (fromDisposition !== undefined && fromType !== undefined && fromDisposition !== fromType) return null;
  const filename = fromDisposition ?? fromType ?? null;
  if (filename !== null && (!PLAIN_FILENAME.test(filename) || filename.trim() !== filename)) return null;
  const bytes = decodeCanonicalBase64(part.bytes, attachmentBuffer(index, part.bytes.length));
  if (bytes === null) return null;
  return { filename, contentType: type.type, bytes };
}

interface MimePart {
  headers: MimeHeaders;
  type: ContentType;
  /** The part's body: a view of the message, not a copy. */
  bytes: Buffer;
}

/** The parts of a multipart whose only parameter is a plain boundary; null if anything is unusual. */
function multipartParts(bytes: Buffer, contentType: ContentType): MimePart[] | null {
  if (contentType.params.size !== 1) return null;
  const boundary = contentType.params.get('boundary');
  if (!boundary || !PLAIN_BOUNDARY.test(boundary)) return null;
  const rawParts = splitParts(bytes, boundary);
  if (!rawParts) return null;
  const parts: MimePart[] = [];
  for (const part of rawParts) {
    const headerEnd = findBlankLine(part);
    if (headerEnd === null) return null;
    const headers = readMimeHeaders(part.toString('latin1', 0, headerEnd.headerEnd));
    if (!headers) return null;
    const type = headers.contentType === null ? null : parseContentType(headers.contentType);
    if (headers.contentType !== null && type === null) return null;
    parts.push({ headers, type: type ?? { type: 'text/plain', params: new Map() }, bytes: part.subarray(headerEnd.bodyStart) });
  }
  return parts;
}

function decodeTextPart(
  bytes: Buffer,
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
    const base64 = decodeCanonicalBase64(bytes);
    if (base64 === null) return null;
    decoded = base64;
  } else if (encoding === 'quoted-printable') {
    const qp = decodeQuotedPrintable(bytes.toString('latin1'));
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
  const result: MimeHeaders = { contentType: null, encoding: null, disposition: null };
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
    if (/[\u0000-\u0008\u000a-\u001f\u007f-\u00ff\\]|=\?/.test(value)) return null;
    // A comment (RFC 2045 5.1) is declined; parentheses inside a quoted file name are just characters.
    if (/[()]/.test(value.replace(/"[^"]*"/g, '""'))) return null;
    if (name === 'content-type') {
      if (result.contentType !== null) return null;
      result.contentType = value;
    } else if (name === 'content-transfer-encoding') {
      if (result.encoding !== null || !TOKEN.test(value)) return null;
      result.encoding = value;
    } else {
      if (result.disposition !== null) return null;
      result.disposition = value;
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
function splitParts(body: Buffer, boundary: string): Buffer[] | null {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Buffer[] = [];
  let partStart = -1;
  let closed = false;
  for (let position = 0; position <= body.length; ) {
    let newline = body.indexOf(0x0a, position);
    if (newline === -1) newline = body.length;
    const end = newline > position && body[newline - 1] === 0x0d ? newline - 1 : newline;
    const start = position;
    position = newline + 1;
    if (!startsWithAt(body, delimiter, start)) continue;
    if (closed) return null;
    const rest = end - (start + delimiter.length);
    const isClose = rest === 2 && body[end - 2] === 0x2d && body[end - 1] === 0x2d;
    if (rest !== 0 && !isClose) return null;
    if (partStart !== -1) {
      // the CRLF (or LF) before the delimiter line belongs to the delimiter
      let partEnd = start;
      if (partEnd > partStart && body[partEnd - 1] === 0x0a) partEnd -= 1;
      if (partEnd > partStart && body[partEnd - 1] === 0x0d) partEnd -= 1;
      if (partEnd < partStart) return null;
      parts.push(body.subarray(partStart, partEnd));
    }
    if (isClose) {
      if (partStart === -1) return null;
      closed = true;
    } else {
      partStart = Math.min(position, body.length);
    }
  }
  if (!closed) return null;
  // After the last close delimiter only white space (as String.prototype.trim sees it in latin1).
  const epilogueStart = body.lastIndexOf(Buffer.from(`--${boundary}--`, 'latin1'));
  for (let i = epilogueStart + delimiter.length + 2; i < body.length; i++) if (!TRIMMED_BYTES.has(body[i]!)) return null;
  return parts;
}

/** The latin1 characters String.prototype.trim removes: tab, LF, VT, FF, CR, space, no-break space. */
const TRIMMED_BYTES = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

function startsWithAt(body: Buffer, prefix: Buffer, at: number): boolean {
  if (at + prefix.length > body.length) return false;
  for (let i = 0; i < prefix.length; i++) if (body[at + i] !== prefix[i]) return false;
  return true;
}

/** A CR not followed by LF. */
function hasBareCarriageReturn(body: Buffer): boolean {
  for (let at = body.indexOf(0x0d); at !== -1; at = body.indexOf(0x0d, at + 1)) if (body[at + 1] !== 0x0a) return true;
  return false;
}

function findBlankLine(part: Buffer): { headerEnd: number; bodyStart: number } | null {
  const crlf = part.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = part.indexOf('\n\n', 0, 'latin1');
  if (crlf === -1 && lf === -1) return null;
  if (lf !== -1 && (crlf === -1 || lf < crlf)) return { headerEnd: lf, bodyStart: lf + 2 };
  return { headerEnd: crlf, bodyStart: crlf + 4 };
}
