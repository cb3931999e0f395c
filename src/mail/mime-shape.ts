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

export function mimeShapeProblems(raw: Buffer): string[] {
  // latin1 keeps byte offsets and never throws on invalid UTF-8; only ASCII header names are sought.
  const text = raw.toString('latin1');
  const problems: string[] = [];
  const multiparts = text.match(/^content-type:[ \t]*multipart\//gim)?.length ?? 0;
  if (multiparts > MAX_MULTIPART_PARTS) problems.push(`${multiparts} multipart sections (more than ${MAX_MULTIPART_PARTS}): an unusual structure, left for a person`);
  // UTF-7 (RFC 2152) is obsolete for mail bodies and a known way to smuggle markup past filters.
  if (/charset\s*=\s*"?utf-7/i.test(text)) problems.push('a part is declared as UTF-7, an obsolete charset used to hide markup: left for a person');
  const depth = htmlNestingDepth(text);
  if (depth > MAX_HTML_NESTING) problems.push(`HTML nested ${depth} levels deep (more than ${MAX_HTML_NESTING}): an HTML bomb or a broken message, left for a person`);
  return problems;
}

/** Real mail (Outlook included) nests a few dozen elements at most. */
export const MAX_HTML_NESTING = 100;

/** Deepest nesting of common container elements; one linear scan, no parsing. */
export function htmlNestingDepth(text: string): number {
  const tags = /<(\/?)(?:div|span|table|tbody|tr|td|p|blockquote|font|b|i|u|ul|ol|li|section|article|center)\b[^>]{0,500}?(\/?)>/gi;
  let depth = 0;
  let deepest = 0;
  for (let match = tags.exec(text); match; match = tags.exec(text)) {
    if (match[2]) continue; // self-closing
    depth = match[1] ? Math.max(0, depth - 1) : depth + 1;
    if (depth > deepest) deepest = depth;
  }
  return deepest;
}
