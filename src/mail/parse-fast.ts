/**
 * The fast path of parse-message.ts, in a module of its own so that a thread can use it without
 * loading mailparser (about 28 MB of a process's memory): the common shapes of hospital mail
 * (parse-simple.ts), each giving exactly the MailMessage the mailparser path gives, with PDF
 * attachments read synchronously when pdf-fast-text.ts can read them as unpdf would.
 * Anything else returns null and goes to the mailparser path.
 */
import type { AttachmentInfo, MailMessage } from '../core/message.js';
import { decodeUtf8Strict, decodeWindows1252, hasHighBytes, isWindows1252Label } from './charset.js';
import { parseHeaderBlockWithProblems, type HeaderParseResult } from './parse-headers.js';
import { parseSimpleBody, type SimpleAttachment } from './parse-simple.js';
import { extractPdfTextNow } from './pdf-text.js';
import { splitSections } from './text-sections.js';
import { withoutLookalikes } from './lookalikes.js';

export interface ParseMessageOptions {
  /** Messages larger than this are parsed from their first maxBytes only. Default 10 MB. */
  maxBytes?: number;
  /** Extract the text of small PDF attachments. Default true. */
  pdfText?: boolean;
  /** PDFs larger than this are listed, not read. Default 2 MB. */
  maxPdfBytes?: number;
  /** Give up on the body after this long (a parser stall must not hold a pass). Default 15 s. */
  timeoutMs?: number;
  /**
   * Also report an unusual MIME shape (mime-shape.ts) among the parse problems. The worker asks for
   * it: the parse thread then scans the raw bytes, not the worker's main thread (issue 7).
   */
  checkMimeShape?: boolean;
  /**
   * Empty the answer's quoted history and footer, and its whole-body text unless `keepWholeText`.
   * The worker reads the subject, the new text and attachment text (and the whole text only when the
   * policy logs bodies), so its parse thread copies that much less back to the main thread (issue 7).
   * Applied by parse-pool.ts and parse-worker.ts (worker-answer.ts), not by the parsers themselves.
   */
  onlyWhatTheWorkerReads?: { keepWholeText: boolean };
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_PDF_BYTES = 2 * 1024 * 1024;

/** Attachments the worker cannot read that may hold what matters: letters, results, and e-mails forwarded as attachments. */
const UNREAD_TYPES = new Map([
  ['application/msword', 'a Word document'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'a Word document'],
  ['application/vnd.ms-word.document.macroenabled.12', 'a Word document'],
  ['application/rtf', 'an RTF document'],
  ['text/rtf', 'an RTF document'],
  ['application/vnd.oasis.opendocument.text', 'an OpenDocument document'],
  ['message/rfc822', 'an attached e-mail'],
  ['application/vnd.ms-outlook', 'an attached Outlook message'],
  ['application/vnd.ms-excel', 'a spreadsheet'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'a spreadsheet'],
  ['application/vnd.ms-excel.sheet.macroenabled.12', 'a spreadsheet'],
  ['application/vnd.oasis.opendocument.spreadsheet', 'a spreadsheet'],
  ['text/csv', 'a spreadsheet'],
  // A text/plain part that comes as a named attachment (a results printout), not the message's own text.
  ['text/plain', 'a text file'],
  // Logos are PNG, JPEG or GIF; TIFF is what scanners and fax gateways make of a letter.
  ['image/tiff', 'a scanned image'],
]);
const UNREAD_EXTENSIONS = new Map([
  ['doc', 'a Word document'],
  ['docx', 'a Word document'],
  ['docm', 'a Word document'],
  ['rtf', 'an RTF document'],
  ['odt', 'an OpenDocument document'],
  ['eml', 'an attached e-mail'],
  ['msg', 'an attached Outlook message'],
  ['xls', 'a spreadsheet'],
  ['xlsx', 'a spreadsheet'],
  ['xlsm', 'a spreadsheet'],
  ['ods', 'a spreadsheet'],
  ['csv', 'a spreadsheet'],
  ['txt', 'a text file'],
  ['tif', 'a scanned image'],
  ['tiff', 'a scanned image'],
]);

/**
 * An attachment the worker does not read but which may hold the letter or the result that matters
 * (Word, RTF, OpenDocument; a spreadsheet or text file of results; a scanned TIFF; an e-mail
 * forwarded as an attachment), as a problem: like a PDF it could not read, it keeps the message
 * from an automatic reply. Null for any other attachment (PNG, JPEG and GIF images are mostly logos).
 */
export function unreadDocumentProblem(info: AttachmentInfo): string | null {
  const extension = /\.([a-z]+)$/i.exec(info.filename ?? '')?.[1]?.toLowerCase() ?? '';
  const kind = UNREAD_TYPES.get(info.contentType) ?? UNREAD_EXTENSIONS.get(extension);
  return kind ? `${info.filename ?? 'attachment'}: ${kind}, which the worker does not read` : null;
}

const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'gif', 'bmp', 'heic', 'webp']);

/**
 * An image sent as an attachment (Content-Disposition: attachment, not a part of the text's own
 * multipart/related) as a problem: a scanned or photographed letter, or a photograph the hospital
 * wants seen, which the worker does not read. Logos and pictures pasted into the text come inline,
 * with a Content-ID, and are not counted (the caller knows the disposition; TIFF is a document above).
 */
export function attachedImageProblem(info: AttachmentInfo): string | null {
  const extension = /\.([a-z]+)$/i.exec(info.filename ?? '')?.[1]?.toLowerCase() ?? '';
  const image = (info.contentType.startsWith('image/') && !UNREAD_TYPES.has(info.contentType)) || IMAGE_EXTENSIONS.has(extension);
  return image ? `${info.filename ?? 'image'}: an attached image (a scanned or photographed letter?), which the worker does not read` : null;
}

/**
 * A PDF too large to read is an attached letter nobody read: like one that could not be read, it
 * keeps the message from an automatic reply (the letter may be where the urgency is).
 */
export function pdfTooLargeProblem(info: AttachmentInfo, maxPdfBytes: number): string {
  return `${info.filename ?? 'PDF attachment'}: ${info.size} bytes, over the ${maxPdfBytes}-byte limit for reading PDF attachments: not read`;
}
/** The classifier reads cues, not novels: a longer body is cut (and the cut reported). */
export const MAX_TEXT_CHARS = 1_000_000;
export const MAX_ATTACHMENTS_LISTED = 200;

export interface BodyResult {
  text: string;
  attachments: AttachmentInfo[];
}

/**
 * The message when the fast path takes it, else null: the caller then parses it with mailparser
 * (in the parse thread). Never throws.
 */
export function tryParseMessageFast(
  raw: Buffer,
  options: ParseMessageOptions = {},
  /** The header block of `raw`, when the caller has parsed it already (the header gates). */
  parsedHeaders?: HeaderParseResult,
): MailMessage | null {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (raw.length > maxBytes) return null;
  try {
    const headerResult = parsedHeaders ?? parseHeaderBlockWithProblems(raw);
    if (headerResult.problems.length > 0) return null;
    const problems: string[] = [];
    const body = parseSimpleBody(raw, headerResult.bodyOffset, decodeDeclaredCharset, problems);
    if (body === null || body.attachments.length > MAX_ATTACHMENTS_LISTED) return null;
    const attachments = listAttachments(body.attachments, options, problems);
    if (attachments === null) return null;
    return finishMessage(raw, raw, headerResult, { text: body.text, attachments }, problems);
  } catch {
    return null;
  }
}

/** As the mailparser path lists them: PDFs within the size limit read, their problems after the text's. */
function listAttachments(parts: SimpleAttachment[], options: ParseMessageOptions, problems: string[]): AttachmentInfo[] | null {
  const wantPdfText = options.pdfText ?? true;
  const maxPdfBytes = options.maxPdfBytes ?? DEFAULT_MAX_PDF_BYTES;
  const attachments: AttachmentInfo[] = [];
  for (const part of parts) {
    const info: AttachmentInfo = { filename: part.filename === null ? null : cleanFilename(part.filename), contentType: part.contentType, size: part.bytes.length };
    attachments.push(info);
    const isPdf = info.contentType === 'application/pdf' || (info.filename?.toLowerCase().endsWith('.pdf') ?? false);
    // The fast path takes only parts marked Content-Disposition: attachment (parse-simple.ts).
    const unread = isPdf ? null : (unreadDocumentProblem(info) ?? attachedImageProblem(info));
    if (unread) problems.push(unread);
    if (!wantPdfText || !isPdf) continue;
    if (info.size > maxPdfBytes) {
      problems.push(pdfTooLargeProblem(info, maxPdfBytes));
      continue;
    }
    const result = extractPdfTextNow(part.bytes);
    if (result === null) return null; // only unpdf can read it: the mailparser path will
    if (result.ok) info.text = withoutLookalikes(result.text);
    else problems.push(`${info.filename ?? 'PDF attachment'}: ${result.problem}`);
  }
  return attachments;
}

export function finishMessage(
  raw: Buffer,
  input: Buffer,
  headerResult: ReturnType<typeof parseHeaderBlockWithProblems>,
  body: BodyResult,
  problems: string[],
): MailMessage {

  let text = body.text;
  if (text.includes('\u0000')) {
    problems.push('body contains NUL bytes (removed)');
    text = text.replace(/\u0000/g, '');
  }
  if (text.includes('\uFFFD')) {
    problems.push('body has bytes that are not valid in its declared charset');
  }
  if (text.length > MAX_TEXT_CHARS) {
    problems.push(`body text longer than ${MAX_TEXT_CHARS} characters was cut`);
    text = text.slice(0, MAX_TEXT_CHARS);
  }
  problems.push(...checkMimeStructure(input, headerResult.headers.headers['content-type']?.[0], headerResult.bodyOffset));
  if (text.trim().length === 0 && body.attachments.length === 0 && input.length - headerResult.bodyOffset > 2) {
    problems.push('no readable text found in the body');
  }
  const sections = safeSplitSections(text, problems);
  return {
    ...headerResult.headers,
    text,
    newText: sections.newText,
    quotedText: sections.quotedText,
    footerText: sections.footerText,
    attachments: body.attachments,
    parseProblems: problems,
    size: raw.length,
  };
}

/**
 * Damage mailparser absorbs silently but a reviewer should know about: a multipart without a
 * boundary, a boundary that never occurs, a missing close delimiter (RFC 2046 5.1.1), which is
 * how a truncated message looks.
 */
function checkMimeStructure(input: Buffer, contentType: string | undefined, bodyOffset: number): string[] {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return [];
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const value = boundary?.[1] ?? boundary?.[2];
  if (!value) return ['multipart message without a boundary parameter'];
  const delimiter = Buffer.from(`--${value}`, 'latin1');
  if (input.indexOf(delimiter, bodyOffset) === -1) return [`multipart boundary "${value.slice(0, 70)}" never occurs in the body`];
  if (input.lastIndexOf(Buffer.from(`--${value}--`, 'latin1')) === -1) {
    return ['multipart message has no closing boundary (truncated or broken)'];
  }
  return [];
}

function safeSplitSections(text: string, problems: string[]): ReturnType<typeof splitSections> {
  try {
    return splitSections(text);
  } catch (error) {
    problems.push(`text sections could not be split: ${describeError(error)}`);
    return { newText: text, quotedText: '', footerText: '' };
  }
}

/** File names reach logs and review screens: no controls, no path, bounded length. */
export function cleanFilename(name: string): string {
  return name
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/^.*[\\/]/, '')
    .trim()
    .slice(0, 255);
}

const SINGLE_BYTE_WESTERN = /^(us-?ascii|ascii|iso-?8859-\d+|latin-?\d|l\d|windows-125\d|cp125\d|cp-?850|ibm-?850)$/i;

/** A text part's bytes from its declared (non-UTF-8) charset; mislabels reported in problems. */
export function decodeDeclaredCharset(bytes: Buffer, declaredLabel: string, problems: string[]): string {
  const declared = declaredLabel.trim().toLowerCase();
  if (!hasHighBytes(bytes)) return bytes.toString('latin1');
  const asUtf8 = decodeUtf8Strict(bytes);
  if (asUtf8 !== null && SINGLE_BYTE_WESTERN.test(declared)) {
    problems.push(`text part declared as ${declared} is UTF-8; read as UTF-8`);
    return asUtf8;
  }
  if (isWindows1252Label(declared)) return decodeWindows1252(bytes);
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(declared);
  } catch {
    problems.push(`unknown charset ${declared.slice(0, 40)}; read as ${asUtf8 !== null ? 'UTF-8' : 'windows-1252'}`);
    return asUtf8 ?? decodeWindows1252(bytes);
  }
  return decoder.decode(bytes);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
