/**
 * Canonical base64 as a MIME part carries it (RFC 2045 6.8): the base64 alphabet, line breaks, tabs
 * and spaces anywhere, at most two `=` at the end, a multiple of four characters in all. Anything
 * else is not canonical (null): mailparser and Node read such text differently, so the parse fast
 * path declines it.
 *
 * It reads the part's bytes, not a string of them: checked and compacted in one pass, then decoded in
 * pieces. The version before built a copy of the text without its line breaks and tested it with a
 * regular expression: for a 200 KB attachment a 270 KB string (V8's large-object space, fresh memory
 * each time) and a pass of the expression over it, about 3 ms of the parse thread per PDF (issue 7).
 */

/** Compacted characters decoded at a time: a multiple of 4, and a string under V8's large-object size. */
const PIECE_CHARACTERS = 64 * 1024;

/**
 * The compacted characters, reused from call to call (the function is synchronous and each thread
 * has its own module): a fresh buffer of an attachment's size is memory the system maps and faults in
 * each time in the worker, whose malloc hands blocks over 128 KB straight back (docs/deploy/).
 */
let scratch = Buffer.allocUnsafeSlow(0);

/** What each byte is to canonical base64 (0: not allowed); a table lookup is faster than range tests. */
const ALPHABET = 1;
const SPACE = 2;
const PAD = 3;
const BYTE_CLASS = new Uint8Array(256);
for (const c of Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1')) BYTE_CLASS[c] = ALPHABET;
for (const c of [0x09, 0x0a, 0x0d, 0x20]) BYTE_CLASS[c] = SPACE;
BYTE_CLASS[0x3d] = PAD;

/**
 * The decoded bytes, or null when the text is not canonical. With `into` large enough, they are
 * written there and a view of it is returned (the caller's reused buffer); otherwise into a fresh one.
 */
export function decodeCanonicalBase64(encoded: Uint8Array, into?: Buffer): Buffer | null {
  return decodeEvenLines(encoded, into) ?? decodeByteByByte(encoded, into);
}

/**
 * What encoders write: lines of one width (a multiple of 4) ending in CRLF, or LF, and a last line
 * that may be shorter. Such text is decoded by Node as it stands, line breaks and all (its decoder
 * skips them), a piece of whole lines at a time: no byte of it passes through JavaScript. undefined
 * when the text is not laid out so, or holds anything Node might read otherwise than the byte loop
 * (then the loop decides): a byte Node skips (white space inside a line, a character outside the
 * alphabet) leaves a piece a character short, which its decoded length shows; the two characters
 * Node alone accepts ('-' and '_', base64url) and '=' before the end are looked for. For a 200 KB
 * attachment this is a few native scans instead of 270,000 turns of the loop (issue 7).
 */
export function decodeEvenLines(encoded: Uint8Array, into?: Buffer): Buffer | undefined {
  if (encoded.length < EVEN_LINES_MIN_BYTES) return undefined;
  const text = Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const firstBreak = text.indexOf(0x0a);
  if (firstBreak < 1) return undefined;
  const breakBytes = text[firstBreak - 1] === 0x0d ? 2 : 1;
  const width = firstBreak + 1 - breakBytes;
  const stride = width + breakBytes;
  if (width === 0 || width % 4 !== 0) return undefined;
  let lines = 0;
  for (let end = stride - 1; end < text.length; end += stride, lines++) {
    if (text[end] !== 0x0a || (breakBytes === 2 && text[end - 1] !== 0x0d)) return undefined;
  }
  // After the last whole line: nothing, or a shorter line with or without its break.
  const lastStart = lines * stride;
  let lastEnd = text.length;
  if (lastEnd - lastStart >= breakBytes && text[lastEnd - 1] === 0x0a && (breakBytes === 1 || text[lastEnd - 2] === 0x0d)) lastEnd -= breakBytes;
  // A line break inside the last line is a byte Node skips, like any other: the count shows it.
  const lastLine = lastEnd - lastStart;
  const characters = lines * width + lastLine;
  if (characters % 4 !== 0 || text.includes(0x2d) || text.includes(0x5f)) return undefined;
  // '=' only as the last one or two characters.
  const contentEnd = lastLine > 0 ? lastEnd : lastStart - breakBytes;
  const firstPad = text.indexOf(0x3d);
  const padding = firstPad === -1 ? 0 : contentEnd - firstPad;
  if (padding > 2 || (padding === 2 && text[contentEnd - 1] !== 0x3d)) return undefined;
  const size = (characters / 4) * 3 - padding;
  const decoded = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  const linesPerPiece = Math.max(1, Math.floor(PIECE_CHARACTERS / stride));
  let written = 0;
  for (let line = 0; ; line += linesPerPiece) {
    // The last piece takes the rest: its whole lines, the shorter line and the padding.
    const last = line + linesPerPiece >= lines;
    const start = line * stride;
    const end = last ? lastEnd : start + linesPerPiece * stride;
    const expected = last ? size - written : (linesPerPiece * width * 3) / 4;
    if (decoded.write(text.toString('latin1', start, end), written, 'base64') !== expected) return undefined;
    written += expected;
    if (last) break;
  }
  return decoded;
}

/** Below this the byte loop is as quick: the even-lines path is for attachments. */
const EVEN_LINES_MIN_BYTES = 4096;

/** Any canonical text: checked and compacted a byte at a time, then decoded in pieces. */
function decodeByteByByte(encoded: Uint8Array, into?: Buffer): Buffer | null {
  if (scratch.length < encoded.length) scratch = Buffer.allocUnsafeSlow(encoded.length);
  const compact = scratch;
  let length = 0;
  let padding = 0;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded[i]!;
    const kind = BYTE_CLASS[c];
    if (kind === ALPHABET) {
      if (padding > 0) return null; // anything but white space after `=`
      compact[length++] = c;
    } else if (kind === PAD) {
      padding++;
      compact[length++] = c;
    } else if (kind !== SPACE) {
      return null;
    }
  }
  if (padding > 2 || length % 4 !== 0) return null;
  const size = (length / 4) * 3 - padding;
  const decoded = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  let written = 0;
  for (let start = 0; start < length; start += PIECE_CHARACTERS) {
    written += decoded.write(compact.toString('latin1', start, Math.min(length, start + PIECE_CHARACTERS)), written, 'base64');
  }
  // Canonical text always fills it exactly; anything else would be a bug, and declining is safe.
  return written === decoded.length ? decoded : null;
}
