/**
 * Raw .eml bytes -> MailMessage. Headers come from parseHeaderBlock() (so the header-only gates
 * and the full parse always agree); the body is streamed through mailparser's MailParser so that
 * attachments are counted, not kept, and only small PDFs are held long enough to read their text.
 *
 * Never throws: whatever goes wrong becomes a `parseProblems` entry and a best-effort model
 * (the input is hostile; a wrong reply is worse than none, so a problem sends a case to review).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { MailParser, type AttachmentStream, type IconvConstructor, type MessageText } from 'mailparser';
import type { AttachmentInfo, MailMessage } from '../core/message.js';
import { htmlToText, MAX_HTML_CHARS } from './html-to-text.js';
import {
  attachedImageProblem,
  cleanFilename,
  decodeDeclaredCharset,
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_PDF_BYTES,
  describeError,
  finishMessage,
  MAX_ATTACHMENTS_LISTED,
  MAX_TEXT_CHARS,
  pdfTooLargeProblem,
  tryParseMessageFast,
  unreadDocumentProblem,
  type BodyResult,
  type ParseMessageOptions,
} from './parse-fast.js';
import { parseHeaderBlockWithProblems } from './parse-headers.js';
import { extractPdfText } from './pdf-text.js';
import { withoutLookalikes } from './lookalikes.js';

export { DEFAULT_MAX_BYTES, DEFAULT_MAX_PDF_BYTES, tryParseMessageFast, type ParseMessageOptions };

const DEFAULT_TIMEOUT_MS = 15_000;
/** mailparser's own html-to-text (used only for HTML parts inside unusual multiparts) is slow; a huge HTML part is stripped crudely instead. */
const MAX_HTML_TO_TEXT_CHARS = 2_000_000;

/**
 * Common shapes (plain text, text + HTML alternative, those with plain attachments) take a fast path that gives
 * exactly what mailparser gives (src/mail/parse-simple.ts); everything else goes to mailparser.
 */
export function parseMessage(raw: Buffer, options: ParseMessageOptions = {}): Promise<MailMessage> {
  return parseWith(raw, options, true);
}

/** The mailparser path for every message (the reference the fast path is tested against). */
export function parseMessageSlow(raw: Buffer, options: ParseMessageOptions = {}): Promise<MailMessage> {
  return parseWith(raw, options, false);
}

async function parseWith(raw: Buffer, options: ParseMessageOptions, allowFast: boolean): Promise<MailMessage> {
  if (allowFast) {
    const fast = tryParseMessageFast(raw, options);
    if (fast) return fast;
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const problems: string[] = [];
  // subarray shares memory: a large message is never copied, only its head is read.
  const input = raw.length > maxBytes ? raw.subarray(0, maxBytes) : raw;
  if (input !== raw) {
    problems.push(`message is ${raw.length} bytes, over the ${maxBytes}-byte limit: only the first ${maxBytes} bytes were read`);
  }
  const headerResult = parseHeaderBlockWithProblems(input);
  problems.push(...headerResult.problems);

  let body: BodyResult;
  try {
    body = await parseBody(input, options, problems, isHtmlContentType(headerResult.headers.headers['content-type']?.[0]));
  } catch (error) {
    problems.push(`body could not be parsed: ${describeError(error)}`);
    body = { text: '', attachments: [] };
  }
  return finishMessage(raw, input, headerResult, body, problems);
}


/** A PDF to read, or an attachment not read whose problem is reported in its turn (as on the fast path). */
type PendingAttachment = { info: AttachmentInfo; bytes: Buffer } | { info: AttachmentInfo; problem: string };

/** A single-part text/html message: its text comes from our converter (html-to-text.ts), not mailparser's. */
function isHtmlContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*text\/html\s*(?:;|$)/i.test(contentType);
}

/** The text of an HTML body, the same on the fast and the mailparser path; a cut is reported. */
export function htmlBodyToText(html: string, problems: string[]): string {
  if (html.length > MAX_HTML_CHARS) problems.push(`HTML body longer than ${MAX_HTML_CHARS} characters: only the first ${MAX_HTML_CHARS} were turned into text`);
  return htmlToText(html);
}

function parseBody(input: Buffer, options: ParseMessageOptions, problems: string[], rootIsHtml: boolean): Promise<BodyResult> {
  const wantPdfText = options.pdfText ?? true;
  const maxPdfBytes = options.maxPdfBytes ?? DEFAULT_MAX_PDF_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return new Promise<BodyResult>((resolve) => {
    const attachments: AttachmentInfo[] = [];
    const pending: PendingAttachment[] = [];
    let text = '';
    let settled = false;
    let extraAttachments = 0;

    const parser = new MailParser({
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      // an HTML-only message is converted below by html-to-text.ts (as on the fast path)
      skipHtmlToText: rootIsHtml,
      checksumAlgo: false,
      maxHtmlLengthToParse: MAX_HTML_TO_TEXT_CHARS,
      Iconv: createCharsetDecoder(problems),
    });

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (extraAttachments > 0) {
        problems.push(`${extraAttachments} more attachments not listed`);
      }
      void readPdfTexts(pending, problems).then(() => resolve({ text, attachments }));
    };
    const timer = setTimeout(() => {
      problems.push(`body parsing timed out after ${timeoutMs} ms`);
      parser.destroy();
      finish();
    }, timeoutMs);

    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        text = data.text ?? '';
        if (data.html !== undefined && (rootIsHtml || text.trim() === '')) {
          // HTML only (or an HTML part mailparser did not turn into text): our converter.
          // If mailparser saw text parts besides (the headers we read and the ones it read
          // disagree), data.html holds them too, as HTML.
          if (rootIsHtml && text.trim() !== '') problems.push('message declared as text/html has other text parts');
          text = htmlBodyToText(data.html, problems);
          return;
        }
        if (data.textConversionError) {
          problems.push(`HTML body could not be turned into text (${data.textConversionError.message}); tags stripped instead`);
          text = crudeHtmlToText(data.html ?? '');
        }
        return;
      }
      collectAttachment(data);
    });
    parser.on('error', (error: unknown) => {
      problems.push(`MIME structure could not be fully parsed: ${describeError(error)}`);
      finish();
    });
    parser.on('end', finish);

    function collectAttachment(attachment: AttachmentStream): void {
      const contentType = (attachment.contentType || 'application/octet-stream').toLowerCase();
      const filename = attachment.filename ? cleanFilename(attachment.filename) : null;
      const info: AttachmentInfo = { filename, contentType, size: 0 };
      const isPdf = contentType === 'application/pdf' || (filename?.toLowerCase().endsWith('.pdf') ?? false);
      const keepBytes = wantPdfText && isPdf;
      const chunks: Buffer[] = [];
      let overPdfLimit = false;
      attachment.content.on('data', (chunk: Buffer) => {
        info.size += chunk.length;
        if (keepBytes && !overPdfLimit) {
          if (info.size > maxPdfBytes) {
            overPdfLimit = true;
            chunks.length = 0; // stop holding a PDF too large to read
          } else {
            chunks.push(chunk);
          }
        }
      });
      const done = (): void => {
        if (attachments.length < MAX_ATTACHMENTS_LISTED) {
          attachments.push(info);
          const unread = unreadDocumentProblem(info) ?? (attachment.contentDisposition === 'attachment' && !attachment.related ? attachedImageProblem(info) : null);
          if (keepBytes) pending.push(overPdfLimit ? { info, problem: pdfTooLargeProblem(info, maxPdfBytes) } : { info, bytes: Buffer.concat(chunks) });
          else if (unread) pending.push({ info, problem: unread });
        } else {
          extraAttachments += 1;
        }
        attachment.release?.();
      };
      attachment.content.on('end', done);
      attachment.content.on('error', (error: unknown) => {
        problems.push(`attachment ${filename ?? '(unnamed)'} could not be decoded: ${describeError(error)}`);
        done();
      });
    }

    try {
      parser.end(input);
    } catch (error) {
      problems.push(`MIME structure could not be parsed: ${describeError(error)}`);
      finish();
    }
  });
}

async function readPdfTexts(pending: PendingAttachment[], problems: string[]): Promise<void> {
  for (const pdf of pending) {
    if ('problem' in pdf) {
      problems.push(pdf.problem);
      continue;
    }
    const result = await extractPdfText(pdf.bytes);
    if (result.ok) {
      pdf.info.text = withoutLookalikes(result.text);
    } else {
      problems.push(`${pdf.info.filename ?? 'PDF attachment'}: ${result.problem}`);
    }
  }
}

function crudeHtmlToText(html: string): string {
  return html
    .slice(0, MAX_TEXT_CHARS * 2)
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/div\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&amp;/gi, '&')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/[ \t]+/g, ' ');
}

/**
 * mailparser hands non-UTF-8 text parts to this decoder (its `Iconv` hook). Mail clients often
 * declare a charset that is wrong: a part labelled iso-8859-1 / windows-1252 whose bytes are
 * valid UTF-8 is UTF-8 (genuine Latin-1 text is almost never valid multi-byte UTF-8); an
 * unknown charset is read as UTF-8 if valid, else windows-1252. Text parts are bounded by
 * maxBytes, so buffering one part is fine.
 */
function createCharsetDecoder(problems: string[]): IconvConstructor {
  class CharsetGuessingDecoder extends Transform {
    private readonly chunks: Buffer[] = [];
    constructor(private readonly declared: string) {
      super();
    }
    override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
      this.chunks.push(chunk);
      done();
    }
    override _flush(done: TransformCallback): void {
      try {
        done(null, Buffer.from(this.decode(Buffer.concat(this.chunks)), 'utf8'));
      } catch (error) {
        problems.push(`text part in charset ${this.declared} could not be decoded: ${describeError(error)}`);
        done(null, Buffer.from(Buffer.concat(this.chunks).toString('latin1'), 'utf8'));
      }
    }
    private decode(bytes: Buffer): string {
      return decodeDeclaredCharset(bytes, this.declared, problems);
    }
  }
  return CharsetGuessingDecoder as unknown as IconvConstructor;
}

