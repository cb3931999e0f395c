import type { Classification } from './classification.js';
import { maskPatientIdentifiers } from './patient-identifiers.js';
import { escapeRegExp } from '../policy/address-pattern.js';

/**
 * How far past the cut an identifier may run and still be recognised whole ("Hosp No: N0482913",
 * "NHS No: 999 029 9919", a date of birth), so a cut never leaves half of one unmasked.
 */
const CANDIDATE_REACH = 40;

/**
 * The case's excerpt: the message's new text with white space runs as single spaces, trimmed,
 * patient identifiers masked (patient-identifiers.ts), cut to `maxChars`. The same as
 * `maskPatientIdentifiers(text.replace(/\s+/g, ' ').trim()).slice(0, maxChars)`, but it reads only as far
 * as the excerpt needs (a long letter was folded and masked whole for a few hundred characters:
 * 3.7 KB of garbage a message, issue 7). Masking only ever lengthens the text, so what lies within
 * `maxChars` depends on the folded text up to there plus the reach of a number starting before it.
 */
export function maskedExcerpt(text: string, maxChars: number): string {
  if (maxChars <= 0) return '';
  return maskPatientIdentifiers(foldedStart(text, maxChars + CANDIDATE_REACH)).slice(0, maxChars);
}

/**
 * What the reply quotes of the hospital's message: the sentence in which the rules found its request
 * ("Could the GP practice please arrange a repeat U&E in 2 weeks' time."), identifiers masked, rather
 * than the opening lines, which in a clinic letter name the patient, the date of birth, the hospital
 * number and the address. Without such a sentence in the new text (the request was in the subject or
 * an attachment), the opening of the new text, masked.
 */
export function requestQuote(newText: string, classification: Pick<Classification, 'category' | 'reasons'>, maxChars: number): string {
  // Lines kept: a letter that lists "Patient: ... / DOB: ... / Address: ..." on lines of their own has
  // no full stops between them, and its "sentence" would be the whole opening.
  const lined = newText.replace(/[ \t\u00a0]+/g, ' ').replace(/ ?\n[ \n]*/g, '\n').trim();
  for (const reason of classification.reasons) {
    if (reason.gate !== 'category' || reason.category !== classification.category || reason.where !== 'body' || !reason.matched) continue;
    const words = reason.matched.replace(/\.\.\.$/, '').trim();
    if (words.length < 4) continue;
    const found = new RegExp(words.split(/\s+/).map(escapeRegExp).join('\\s+')).exec(lined);
    if (!found) continue;
    const at = found.index;
    const after = (index: number, length: number): number => (index >= 0 ? index + length : 0);
    const start = Math.max(...['. ', '? ', '! '].map((mark) => after(lined.lastIndexOf(mark, at), 2)), after(lined.lastIndexOf('\n', at), 1));
    const ends = ['. ', '? ', '! ', '\n'].map((mark) => lined.indexOf(mark, at + found[0].length)).filter((index) => index >= 0);
    const end = ends.length > 0 ? Math.min(...ends) + 1 : lined.length;
    return maskPatientIdentifiers(lined.slice(start, end).replace(/\s+/g, ' ').trim()).slice(0, maxChars);
  }
  return maskedExcerpt(newText, maxChars);
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
