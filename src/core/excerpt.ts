import { maskNhsNumbers } from './nhs-number.js';

/**
 * The longest stretch maskNhsNumbers looks at past a candidate's start: "999 151 3345" and the
 * character after it, which must not be a digit.
 */
const CANDIDATE_REACH = 13;

/**
 * The case's excerpt: the message's new text with white space runs as single spaces, trimmed,
 * NHS numbers masked, cut to `maxChars`. The same as
 * `maskNhsNumbers(text.replace(/\s+/g, ' ').trim()).slice(0, maxChars)`, but it reads only as far
 * as the excerpt needs (a long letter was folded and masked whole for a few hundred characters:
 * 3.7 KB of garbage a message, issue 7). Masking only ever lengthens the text, so what lies within
 * `maxChars` depends on the folded text up to there plus the reach of a number starting before it.
 */
export function maskedExcerpt(text: string, maxChars: number): string {
  if (maxChars <= 0) return '';
  return maskNhsNumbers(foldedStart(text, maxChars + CANDIDATE_REACH)).slice(0, maxChars);
}

/**
 * `text.replace(/\s+/g, ' ').trim()` as far as its first `atLeast` characters (all of it when
 * shorter, perhaps a little more): a prefix of the whole folded text, read no further than needed.
 */
export function foldedStart(text: string, atLeast: number): string {
  const words = /\S+/g;
  let folded = '';
  for (let word = words.exec(text); word && folded.length < atLeast; word = words.exec(text)) {
    folded = folded === '' ? word[0] : `${folded} ${word[0]}`;
  }
  return folded;
}
