/**
 * NHS numbers: 10 digits, modulus-11 check digit (NHS Data Dictionary). Used to mask patient
 * identifiers before anything is logged (Caldicott: minimum necessary).
 */

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** True when `value` (digits, optionally grouped 3-3-4 by spaces or hyphens) is a valid NHS number. */
export function isValidNhsNumber(value: string): boolean {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{10}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (digits.charCodeAt(i) - 48) * WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  if (check === 10) return false; // no valid check digit exists for this stem
  return (check === 11 ? 0 : check) === digits.charCodeAt(9) - 48;
}

/**
 * Between the groups of a written NHS number: nothing, or up to two of a space (also the no-break and
 * thin spaces of HTML mail and word processors), a hyphen or dash, or a dot ("999 151 3345",
 * "999-151-3345", "999.151.3345", "999  151  3345" in a fixed-width report).
 */
const SEPARATOR = '[ \\u00a0\\u2007\\u2009\\u202f.\\u2010\\u2011\\u2013-]{0,2}';
// 3-3-4 digits, each gap a SEPARATOR; not part of a longer number.
const CANDIDATE = new RegExp(`(?<![\\d])(\\d{3})(${SEPARATOR})(\\d{3})(${SEPARATOR})(\\d{4})(?![\\d])`, 'g');

/**
 * Mask every valid NHS number in `text`, keeping the first three digits so a reader can tell a
 * test-range number (999) from a real one: `999 151 3345` -> `999 *** ****`.
 * Ten-digit strings that fail the check digit (phone numbers, hospital ids) are left alone.
 */
export function maskNhsNumbers(text: string): string {
  return text.replace(CANDIDATE, (whole, first: string, gap1: string, second: string, gap2: string, third: string) =>
    isValidNhsNumber(first + second + third) ? `${first}${gap1 || ' '}***${gap2 || ' '}****` : whole,
  );
}

/**
 * Whether maskNhsNumbers could change a text: 3-3-4 digits, not part of a longer number, with up to
 * six non-digits in each gap. A superset of its candidates, also when a text is read as Latin-1
 * bytes (the audit export does), where a no-break or thin space is two or three characters. Cheaper
 * to ask than to mask.
 */
export const MAY_HOLD_NHS_NUMBER = /(?<!\d)\d{3}\D{0,6}\d{3}\D{0,6}\d{4}(?!\d)/;

/**
 * A case's reasons with NHS numbers masked in the words each quotes and in its explanation, before
 * they are logged: a rule's match can span a number ("please could you, for 999 151 3345, arrange
 * bloods"), and a parse problem names attachments by their file names. The same array when nothing
 * needs masking (most cases).
 */
export function maskReasons<R extends { detail: string; matched?: string }>(reasons: R[]): R[] {
  if (!reasons.some((r) => MAY_HOLD_NHS_NUMBER.test(r.detail) || (r.matched !== undefined && MAY_HOLD_NHS_NUMBER.test(r.matched)))) return reasons;
  return reasons.map((r) => ({ ...r, detail: maskNhsNumbers(r.detail), ...(r.matched === undefined ? {} : { matched: maskNhsNumbers(r.matched) }) }));
}
