import { describe, expect, it } from 'vitest';
import type { Classification } from '../../src/core/classification.js';
import { maskedExcerpt, requestQuote } from '../../src/core/excerpt.js';
import { maskPatientIdentifiers } from '../../src/core/patient-identifiers.js';

describe('maskPatientIdentifiers', () => {
  it.each([
    ['a date of birth', 'Mr Dennis HOLLOWAY DOB: 03/07/1951', 'Mr Dennis HOLLOWAY DOB: **/**/****'],
    ['a date of birth in words', 'Date of birth 1 March 1942.', 'Date of birth * ***** ****.'],
    ['a hospital number after its label', 'Hosp No: N0482913', 'Hosp No: N*******'],
    ['a RiO number', 'RiO: EF0029348', 'RiO: E********'],
    ['a hospital number standing alone', 'Mr Wayne HOLT, K1120498', 'Mr Wayne HOLT, K*******'],
    ['a postcode', 'Marshgate MG4 7QT', 'Marshgate *** ***'],
    ['a mobile number', 'call her on 07700 900123', 'call her on 077** ******'],
    ['a number after "tel"', 'tel 01632 960001', 'tel ***** ******'],
    ['a ward number, which staff need, left', 'the ward on 01632 960000', 'the ward on 01632 960000'],
    ['dose times left', 'Insulin glargine at 0800 1200 1800', 'Insulin glargine at 0800 1200 1800'],
    ['a date of birth written as ISO', 'born 1951-07-03', 'born ****-**-**'],
    ['a date of birth with an ordinal', 'DOB 3rd July 1951', 'DOB *** **** ****'],
    ['a date of birth after a dash', 'Date of Birth - 03/07/1951', 'Date of Birth - **/**/****'],
    ['a hospital number in lower case', 'hosp no: k1120498', 'hosp no: k*******'],
    ['an all-digit hospital number', 'hospital number 4482913', 'hospital number 4******'],
    ['a RIO number in capitals', 'RIO No: 1234567', 'RIO No: 1******'],
    ['an NHS number after a dash, check digit wrong', 'NHS Number - 943 476 5918', 'NHS Number - 943 *** ****'],
    ["a patient's own e-mail address", 'email jane.smith1951@gmail.com', 'email j***@***'],
    ["an NHS address, which is staff's, left", 'renal.secs@northmere.nhs.uk', 'renal.secs@northmere.nhs.uk'],
    ['an NHS number with a wrong check digit, after "NHS No"', 'NHS No: 999 029 9918 (typo)', 'NHS No: 999 *** **** (typo)'],
    ['an NHS number grouped 4-3-3', 'NHS: 9990 299 919', 'NHS: 999* *** ***'],
    ['an NHS number grouped with slashes', 'NHS: 999 / 029 / 9919', 'NHS: 999 / *** / ****'],
    ['a valid NHS number without a label', 'Re: 999 029 9919', 'Re: 999 *** ****'],
  ])('%s', (_name, text, masked) => {
    expect(maskPatientIdentifiers(text)).toBe(masked);
  });

  it('leaves clinical figures, dates of tests and codes alone', () => {
    const text = "Please arrange a repeat U&E in 2 weeks and an ECG; his HbA1c was 48 in 2025 at 10:30. B12 400. CT head on 12/11/2026. Ref PCN-000004.";
    expect(maskPatientIdentifiers(text)).toBe(text);
  });
});

describe('what the reply quotes and the case keeps of a letter', () => {
  const letter = "Dear Colleague, Re: Mr Dennis HOLLOWAY DOB: 03/07/1951 NHS No: 999 029 9919 Hosp No: N0482913 14 Cooper's Row, Marshgate MG4 7QT. Dr Rahman reviewed Mr Holloway in the Renal clinic on 12/11/2026. Could the GP practice please arrange a repeat U&E in 2 weeks' time and forward the result to the renal secretaries. Kind regards";
  const classification: Pick<Classification, 'category' | 'reasons'> = {
    category: 'blood_test_request',
    reasons: [
      { gate: 'sender', rule: 'hospital.northmere', detail: '' },
      { gate: 'category', rule: 'arrange-bloods', detail: '', matched: 'arrange a repeat U&E', where: 'body', category: 'blood_test_request' },
    ],
  };

  it('the reply quotes the sentence that asks, not the opening that names the patient', () => {
    expect(requestQuote(letter, classification, 400)).toBe("Could the GP practice please arrange a repeat U&E in 2 weeks' time and forward the result to the renal secretaries.");
  });

  it('a letter set out on lines without full stops: only the line that asks, from its first letter', () => {
    const lines = 'Patient: Jane SMITH\nDOB 03/07/1951\nAddress: 14 Cooper\'s Row, Marshgate MG4 7QT\nEmail jane.smith1951@gmail.com\nCould the GP practice please arrange a repeat U&E in 2 weeks\nThanks';
    expect(requestQuote(lines, classification, 400)).toBe('Could the GP practice please arrange a repeat U&E in 2 weeks');
    expect(requestQuote('Could you arrange a repeat U&E', classification, 400)).toBe('Could you arrange a repeat U&E');
  });

  it('without a request sentence in the text, the opening, with every identifier masked', () => {
    const quote = requestQuote(letter, { category: 'blood_test_request', reasons: [] }, 400);
    expect(quote).toMatch(/^Dear Colleague, Re: Mr Dennis HOLLOWAY DOB: \*\*\/\*\*\/\*\*\*\* NHS No: 999 \*\*\* \*\*\*\* Hosp No: N\*{7} 14 Cooper's Row, Marshgate \*\*\* \*\*\*\./);
  });

  it("the case's excerpt masks the identifiers too, also one cut by the excerpt's end", () => {
    expect(maskedExcerpt(letter, 300)).not.toMatch(/03\/07\/1951|N0482913|MG4 7QT|029 9919/);
    const cut = maskedExcerpt(letter, letter.indexOf('N0482913') + 4);
    expect(cut.endsWith('N***')).toBe(true);
  });
});
