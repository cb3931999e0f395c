import { maskNhsNumbers } from './nhs-number.js';

/**
 * Identifiers of a patient besides a valid NHS number, masked before text is logged or quoted back
 * (Caldicott: minimum necessary; found by a review: the reply's quote and the case's excerpt carried
 * "DOB: 03/07/1951 ... Hosp No: N0482913 14 Cooper's Row, Marshgate MG4 7QT").
 * - a number written after "NHS" (any grouping, check digit or not: "NHS No: 999 029 9918 (typo)");
 * - a date after "DOB", "D.O.B." or "date of birth";
 * - a hospital number: after "Hosp No", "Hospital number", "MRN", "RiO", "PAS", or one or two capital
 *   letters and 6 to 8 digits standing alone ("K1120498");
 * - a UK postcode ("MG4 7QT") and a UK telephone number ("07700 900123", "01632 960000", "+44 7700 900123").
 * A street address without these is not recognised.
 */
const HAS_DIGIT = /\d/;
const NHS_CONTEXT = /\b(NHS\s*(?:(?:No|Number|Num)\.?\s*)?[:#.]?\s*)(\d[\d \u00a0/.-]{8,16}\d)(?!\d)/gi;
const DATE_OF_BIRTH = /\b(DOB|D\.O\.B\.?|date of birth)(\s*[:.]?\s*)(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2} [A-Za-z]{3,9} \d{4})/gi;
const HOSPITAL_NUMBER = /\b((?:Hosp(?:ital)?\.?\s*(?:No|Number|Num)\.?|MRN|RiO(?:\s*(?:No|Number))?|PAS(?:\s*(?:No|Number))?|Unit\s*(?:No|Number))\s*[:#.]?\s*)([A-Z]{0,3}\d{4,10}[A-Z]?)\b|\b([A-Z]{1,2}\d{6,8})\b/g;
const POSTCODE = /\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b/g;
const PHONE = /(?<![\d+])(?:\+44\s?\(?0?\)?\s?|0)\d{2,4}[ \u00a0-]?\d{3,4}[ \u00a0-]?\d{3,4}(?!\d)/g;

export function maskPatientIdentifiers(text: string): string {
  // Every identifier here has a digit: most subjects have none, and cost one test.
  if (!HAS_DIGIT.test(text)) return text;
  return maskNhsNumbers(text)
    .replace(NHS_CONTEXT, (_whole, label: string, digits: string) => `${label}${digits.slice(0, 3)}${digits.slice(3).replace(/\d/g, '*')}`)
    .replace(DATE_OF_BIRTH, (_whole, label: string, gap: string, date: string) => `${label}${gap}${date.replace(/[\dA-Za-z]/g, '*')}`)
    .replace(HOSPITAL_NUMBER, (whole, label: string | undefined, id: string | undefined, bare: string | undefined) =>
      label !== undefined && id !== undefined ? `${label}${mask(id)}` : bare !== undefined ? mask(bare) : whole,
    )
    .replace(POSTCODE, (postcode) => postcode.replace(/[A-Z\d]/g, '*'))
    .replace(PHONE, (phone) => `${phone.slice(0, 3)}${phone.slice(3).replace(/\d/g, '*')}`);
}

function mask(id: string): string {
  return `${id.slice(0, 1)}${id.slice(1).replace(/[\dA-Z]/g, '*')}`;
}
