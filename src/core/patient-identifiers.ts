import { maskNhsNumbers } from './nhs-number.js';

/**
 * Identifiers of a patient besides a valid NHS number, masked before text is logged or quoted back
 * (Caldicott: minimum necessary; found by a review: the reply's quote and the case's excerpt carried
 * "DOB: 03/07/1951 ... Hosp No: N0482913 14 Cooper's Row, Marshgate MG4 7QT").
 * - a number written after "NHS" (any grouping, check digit or not: "NHS No: 999 029 9918 (typo)");
 * - a date after "DOB", "D.O.B." or "date of birth";
 * - a hospital number: after "Hosp No", "Hospital number", "MRN", "RiO", "PAS", or one or two capital
 *   letters and 6 to 8 digits standing alone ("K1120498");
 * - a UK postcode ("MG4 7QT"), a mobile number ("07700 900123", "+44 7700 900123") or a number after
 *   "tel", "phone", "mobile", "home" (a ward's or a bleep's number written alone is left: staff need it,
 *   and "0800 1200 1800" may be dose times);
 * - an e-mail address outside nhs.net and nhs.uk (a patient's own).
 * A name or a street address is not recognised.
 */
const HAS_DIGIT = /\d/;
const NHS_CONTEXT = /\b(NHS\s*(?:(?:No|Number|Num)\.?\s*)?[:#.\u2013-]?\s*)(\d[\d \u00a0/.-]{8,16}\d)(?!\d)/gi;
const DATE_OF_BIRTH =
  /\b(DOB|D\.O\.B\.?|date of birth|born(?: on)?)(\s*[:.\u2013-]?\s*)(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4})/gi;
const LABELLED_NUMBER =
  /\b((?:Hosp(?:ital)?\.?\s*(?:No|Number|Num)\.?|MRN|RiO(?:\s*(?:No|Number))?\.?|PAS(?:\s*(?:No|Number))?|Unit\s*(?:No|Number)|K\s*(?:No|Number))\s*[:#.\u2013-]?\s*)([A-Z]{0,3}\d{4,10}[A-Z]?)\b/gi;
const BARE_HOSPITAL_NUMBER = /\b([A-Z]{1,2}\d{6,8})\b/g;
const POSTCODE = /\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b/g;
/** A mobile number (a patient's, mostly), or any number written after "tel", "phone", "mobile", "home". */
const PHONE = /(?<![\d+])(?:\+44\s?\(?0?\)?\s?7\d{3}|07\d{3})[ \u00a0-]?\d{3}[ \u00a0-]?\d{3}(?!\d)|\b((?:tel|telephone|phone|mobile|mob|home|contact)(?:\s*(?:no|number))?\.?\s*[:.]?\s*)(\+?[\d][\d \u00a0()-]{8,16}\d)(?!\d)/gi;
/** An e-mail address of the patient's own (any address outside the NHS and the hospitals' .nhs.uk domains). */
const PRIVATE_EMAIL = /\b[A-Za-z0-9._%+-]+@(?![A-Za-z0-9.-]*\b(?:nhs\.net|nhs\.uk)\b)[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g;

export function maskPatientIdentifiers(text: string): string {
  // Every identifier here but an e-mail address has a digit: most subjects have neither, and cost two tests.
  if (!HAS_DIGIT.test(text) && !text.includes('@')) return text;
  return maskNhsNumbers(text)
    .replace(NHS_CONTEXT, (_whole, label: string, digits: string) => `${label}${digits.slice(0, 3)}${digits.slice(3).replace(/\d/g, '*')}`)
    .replace(DATE_OF_BIRTH, (_whole, label: string, gap: string, date: string) => `${label}${gap}${date.replace(/[\dA-Za-z]/g, '*')}`)
    .replace(LABELLED_NUMBER, (_whole, label: string, id: string) => `${label}${mask(id)}`)
    .replace(BARE_HOSPITAL_NUMBER, (id) => mask(id))
    .replace(POSTCODE, (postcode) => postcode.replace(/[A-Z\d]/g, '*'))
    .replace(PHONE, (whole, label: string | undefined, number: string | undefined) =>
      label !== undefined && number !== undefined ? `${label}${number.replace(/\d/g, '*')}` : `${whole.slice(0, 3)}${whole.slice(3).replace(/\d/g, '*')}`,
    )
    .replace(PRIVATE_EMAIL, (address) => `${address.slice(0, 1)}***@***`);
}

function mask(id: string): string {
  return `${id.slice(0, 1)}${id.slice(1).replace(/[\dA-Z]/g, '*')}`;
}
