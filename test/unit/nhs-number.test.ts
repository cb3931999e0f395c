import { describe, expect, it } from 'vitest';
import { isValidNhsNumber, maskNhsNumbers, maskReasons } from '../../src/core/nhs-number.js';

describe('isValidNhsNumber', () => {
  it.each([
    ['9991513345', true],
    ['999 151 3345', true],
    ['999-151-3345', true],
    ['9991513346', false], // wrong check digit
    ['999151334', false], // nine digits
    ['99915133450', false],
    ['999 151 334a', false],
    ['0000000000', true], // check digit 0 (remainder 0 -> 11 -> 0)
  ])('%s -> %s', (value, expected) => {
    expect(isValidNhsNumber(value)).toBe(expected);
  });

  it('rejects a stem whose check digit would be 10', () => {
    // 123456789x: sum = 10+18+24+28+30+30+28+24+18 = 210, 210 mod 11 = 1, check 10: no valid number.
    for (let d = 0; d <= 9; d++) expect(isValidNhsNumber(`123456789${d}`)).toBe(false);
  });
});

describe('maskNhsNumbers', () => {
  it.each([
    ['NHS No: 999 151 3345   Hosp No: N0482913', 'NHS No: 999 *** ****   Hosp No: N0482913'],
    ['NHS 9993349526 K1201774', 'NHS 999 *** **** K1201774'],
    ['nhs: 999-151-3345.', 'nhs: 999-***-****.'],
    ['Tel 01632 960418', 'Tel 01632 960418'],
    ['ref 9991513346 (bad check digit)', 'ref 9991513346 (bad check digit)'],
    ['UBRN 0004 1127 7893', 'UBRN 0004 1127 7893'],
    ['a 19991513345 longer number', 'a 19991513345 longer number'],
    ['NHS number 999.151.3345', 'NHS number 999.***.****'],
    ['NHS\u00a0No\u00a0999\u00a0151\u00a03345 (no-break spaces of HTML mail)', 'NHS\u00a0No\u00a0999\u00a0***\u00a0**** (no-break spaces of HTML mail)'],
    ['999\u2009151\u20093345 (thin spaces)', '999\u2009***\u2009**** (thin spaces)'],
    ['NHS No   999  151  3345', 'NHS No   999  ***  ****'],
    ['999 151-3345 (two kinds)', '999 ***-**** (two kinds)'],
    ['2026.11.20 09:00:15', '2026.11.20 09:00:15'],
  ])('%j -> %j', (text, expected) => {
    expect(maskNhsNumbers(text)).toBe(expected);
  });
});

describe('maskReasons', () => {
  it('masks the number in the words a rule quotes and in an explanation', () => {
    const reasons = [
      { gate: 'category', rule: 'asks-for-bloods', detail: 'counts towards blood_test_request', matched: 'Please could you, for Mr Test NHS 999 151 3345, arrange b...' },
      { gate: 'parse', rule: 'parse.incomplete', detail: 'parts of the message could not be read (9991513345 letter.docx: a Word document, which the worker does not read)' },
    ];
    expect(maskReasons(reasons)).toEqual([
      { ...reasons[0], matched: 'Please could you, for Mr Test NHS 999 *** ****, arrange b...' },
      { ...reasons[1], detail: 'parts of the message could not be read (999 *** **** letter.docx: a Word document, which the worker does not read)' },
    ]);
  });

  it('returns the same reasons when there is nothing to mask', () => {
    const reasons = [{ gate: 'threshold', rule: 'limits.maxAgeDays', detail: 'received 400 days ago', matched: '2025-10-16T09:00:00.000Z' }];
    expect(maskReasons(reasons)).toBe(reasons);
  });
});
