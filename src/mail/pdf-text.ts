/**
 * Text of a small PDF attachment: a hospital often writes "please see attached letter", and the
 * request is in the PDF. unpdf bundles a serverless pdf.js build (no native code).
 *
 * Most attachments are simple PDFs that pdf-fast-text.ts reads in well under a millisecond with the
 * same result as unpdf; unpdf (10-28 ms a PDF) reads only what that fast path declines.
 *
 * unpdf (pdf.js, several MB of code) is imported on the first PDF met, not at start: most passes
 * meet none, and each thread that loads it pays for it in memory (issue 7: RSS < 150 MB).
 */
import { fastPdfText, type FastPdfText } from './pdf-fast-text.js';

type Unpdf = typeof import('unpdf');
let unpdf: Promise<Unpdf> | null = null;
function loadUnpdf(): Promise<Unpdf> {
  unpdf ??= import('unpdf');
  return unpdf;
}

export const DEFAULT_PDF_TIMEOUT_MS = 5000;
/** Enough for a few pages of clinic letter; a longer text is cut, it is only read for cues. */
const MAX_PDF_TEXT_CHARS = 100_000;

export type PdfTextResult = { ok: true; text: string } | { ok: false; problem: string };

/**
 * The same answer as extractPdfText, at once, when it needs no unpdf (not a PDF at all, or a PDF
 * the fast path reads); null when only unpdf can tell (the caller then takes the asynchronous
 * path). Never throws.
 */
export function extractPdfTextNow(bytes: Uint8Array): PdfTextResult | null {
  // PDF 1.7 (ISO 32000-1) 7.5.2: the file starts with %PDF- (readers allow junk in the first KB).
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1024)).toString('latin1');
  if (!head.includes('%PDF-')) {
    return { ok: false, problem: 'attachment declared as PDF is not a PDF (no %PDF- header)' };
  }
  return tryFastPath(bytes);
}

/** Never throws: a "PDF" that is not one, or a slow one, gives a problem instead. */
export async function extractPdfText(bytes: Uint8Array, timeoutMs = DEFAULT_PDF_TIMEOUT_MS): Promise<PdfTextResult> {
  const now = extractPdfTextNow(bytes);
  if (now) return now;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PdfTextResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, problem: `PDF text extraction timed out after ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const extraction = (async (): Promise<PdfTextResult> => {
    // pdf.js may detach the buffer it is given: hand it a copy.
    const { extractText, getDocumentProxy } = await loadUnpdf();
    const document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      const { text } = await extractText(document, { mergePages: true });
      return { ok: true, text: text.slice(0, MAX_PDF_TEXT_CHARS) };
    } finally {
      void document.destroy().catch(() => undefined);
    }
  })().catch((error: unknown): PdfTextResult => extractionFailed(error instanceof Error ? error.message : String(error)));
  try {
    return await Promise.race([extraction, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function extractionFailed(reason: string): PdfTextResult {
  return { ok: false, problem: `PDF text could not be extracted: ${reason}` };
}

/** The fast path's answer in unpdf's terms, or null to ask unpdf (also when the fast path fails). */
function tryFastPath(bytes: Uint8Array): PdfTextResult | null {
  let fast: FastPdfText | null;
  try {
    fast = fastPdfText(bytes);
  } catch {
    return null;
  }
  if (!fast) return null;
  return fast.ok ? { ok: true, text: fast.text.slice(0, MAX_PDF_TEXT_CHARS) } : extractionFailed(fast.pdfjsError);
}
