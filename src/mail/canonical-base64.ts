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
