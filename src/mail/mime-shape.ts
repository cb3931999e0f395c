/**
 * A cheap look at a message's MIME shape before parsing. Hospital mail has at most a few levels of
 * multipart (mixed > alternative > related); dozens are a sign of a broken or hostile message, which
 * the worker reads but never answers automatically.
 */
export const MAX_MULTIPART_PARTS = 12;

/** The parsed message with its shape problems added when the options ask for them (the worker's parse thread does). */
export function withMimeShapeProblems<M extends { parseProblems: string[] }>(raw: Buffer, message: M, options: { checkMimeShape?: boolean }): M {
  if (options.checkMimeShape) message.parseProblems.push(...mimeShapeProblems(raw));
  return message;
}

/**
 * A string over 128 KB goes to V8's large-object space, in fresh memory each time: 1.2-1.5 ms for a
 * 280 KB message on the machines measured, against 0.04 ms for the same bytes as 64 KB pieces
 * (docs/benchmark-history.md). A message with a PDF attachment is that size, so the message is read in pieces.
 */
const PIECE_BYTES = 64 * 1024;

export function mimeShapeProblems(raw: Buffer, pieceBytes = PIECE_BYTES): string[] {
  const problems: string[] = [];
  const multiparts = multipartHeaderCount(raw, pieceBytes);
  if (multiparts > MAX_MULTIPART_PARTS) problems.push(`${multiparts} multipart sections (more than ${MAX_MULTIPART_PARTS}): an unusual structure, left for a person`);
  // UTF-7 (RFC 2152) is obsolete for mail bodies and a known way to smuggle markup past filters.
  // Every match holds "utf-7": only a message with one (any case) is read whole.
  if (mayNameUtf7(raw) && /charset\s*=\s*"?utf-7/i.test(raw.toString('latin1'))) problems.push('a part is declared as UTF-7, an obsolete charset used to hide markup: left for a person');
  const depth = htmlNestingDepth(raw, pieceBytes);
  if (depth > MAX_HTML_NESTING) problems.push(`HTML nested ${depth} levels deep (more than ${MAX_HTML_NESTING}): an HTML bomb or a broken message, left for a person`);
  return problems;
}

/**
 * Whether "utf-7" occurs, ASCII case ignored, found through its "-7" without a string of the
 * message: a Message-ID or a date can hold "-7", and a large message turned into one string costs
 * fresh memory (above).
 */
function mayNameUtf7(raw: Buffer): boolean {
  for (let at = raw.indexOf('-7', 3); at !== -1; at = raw.indexOf('-7', at + 1)) {
    if ((raw[at - 3]! | 0x20) === 0x75 && (raw[at - 2]! | 0x20) === 0x74 && (raw[at - 1]! | 0x20) === 0x66) return true;
  }
  return false;
}

/** Lines that start `Content-Type: multipart/`, read in pieces that end at a line's end. */
export function multipartHeaderCount(raw: Buffer, pieceBytes = PIECE_BYTES): number {
  let count = 0;
  for (let from = 0; from < raw.length; ) {
    let to = Math.min(raw.length, from + pieceBytes);
    if (to < raw.length) {
      // After the piece's last line end; a line longer than a piece makes a longer piece.
      const last = raw.lastIndexOf(10, to - 1);
      const after = last >= from ? last : raw.indexOf(10, to);
      to = after === -1 ? raw.length : after + 1;
    }
    // A piece without a ':' holds no such line (an attachment's base64 has none): no string of it.
    // latin1 keeps byte offsets and never throws on invalid UTF-8; only ASCII header names are sought.
    const colon = raw.indexOf(0x3a, from);
    if (colon !== -1 && colon < to) count += raw.toString('latin1', from, to).match(/^content-type:[ \t]*multipart\//gim)?.length ?? 0;
    from = to;
  }
  return count;
}

const CONTAINER_TAG = /<(\/?)(?:div|span|table|tbody|tr|td|p|blockquote|font|b|i|u|ul|ol|li|section|article|center)\b[^>]{0,500}?(\/?)>/gi;
/** The most text one CONTAINER_TAG match spans: `</`, "blockquote", 500 more, `/>`. */
const TAG_REACH = 520;

/**
 * The deepest nesting of common container elements, one linear scan (no parsing) over the message in pieces, each read with TAG_REACH bytes beyond it, so that a
 * tag begun in a piece is matched whole there; the next piece starts where that match ended. The
 * matches, and so the depth, are those of one scan over the whole text.
 */
export function htmlNestingDepth(raw: Buffer, pieceBytes = PIECE_BYTES): number {
  let depth = 0;
  let deepest = 0;
  for (let from = 0; from < raw.length; ) {
    const end = Math.min(raw.length, from + pieceBytes);
    // Every match starts with '<': a piece with none to start one (an attachment's base64) is passed by.
    const open = raw.indexOf(0x3c, from);
    if (open === -1 || open >= end) {
      from = end;
      continue;
    }
    const text = raw.toString('latin1', from, Math.min(raw.length, end + TAG_REACH));
    const tags = new RegExp(CONTAINER_TAG);
    let next = end;
    for (let match = tags.exec(text); match && from + match.index < end; match = tags.exec(text)) {
      next = Math.max(end, from + match.index + match[0].length);
      if (match[2]) continue; // self-closing
      depth = match[1] ? Math.max(0, depth - 1) : depth + 1;
      if (depth > deepest) deepest = depth;
    }
    from = next;
  }
  return deepest;
}

/** Real mail (Outlook included) nests a few dozen elements at most. */
export const MAX_HTML_NESTING = 100;
