import { describe, expect, it } from 'vitest';
import { foldedStart, maskedExcerpt } from '../../src/core/excerpt.js';
import { maskNhsNumbers } from '../../src/core/nhs-number.js';

// What the worker stored as the excerpt before it stopped folding and masking the whole text.
const wholeTextExcerpt = (text: string, maxChars: number): string => maskNhsNumbers(text.replace(/\s+/g, ' ').trim()).slice(0, maxChars);

describe('maskedExcerpt', () => {
  it('folds, trims, masks and cuts as the whole-text version does', () => {
    const text = '  Dear GP,\n\n  Please arrange bloods for   NHS number 943 476 5919 (or 9434765919)\r\n\tThanks\u00a0\u2003ward 9  ';
    for (const max of [0, 1, 5, 20, 45, 47, 60, 280, 2000]) expect(maskedExcerpt(text, max), `max ${max}`).toBe(wholeTextExcerpt(text, max));
    expect(maskedExcerpt(text, 280)).toContain('943 *** ****');
    expect(maskedExcerpt(text, 280)).not.toContain('476');
  });

  it('agrees on 20,000 random texts, with NHS numbers (valid and not) across the cut', () => {
    let seed = 20261127;
    const random = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    // 943 476 5919 is valid; 943 476 5918 is not; the pieces make numbers run into each other.
    const pieces = ['943 476 5919', '9434765919', '943-476-5919', '943 476 5918', '1', '59', ' ', '  ', '\n', '\t', '\u00a0', 'word', 'x', '-'];
    let masked = 0;
    for (let round = 0; round < 20000; round++) {
      const text = Array.from({ length: random(30) }, () => pieces[random(pieces.length)]).join('');
      const max = random(60);
      const expected = wholeTextExcerpt(text, max);
      expect(maskedExcerpt(text, max), JSON.stringify([text, max])).toBe(expected);
      if (expected.includes('*')) masked++;
    }
    // Many of them must hold a masked number, some cut by the limit, or this proves little.
    expect(masked).toBeGreaterThan(2000);
  });

  it('foldedStart is the start of the whole folded text, at least as long as asked (or all of it)', () => {
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
    const pieces = ['a', 'bc', ' ', '\n\n', '\t ', '\u2028', 'word'];
    for (let round = 0; round < 5000; round++) {
      const text = Array.from({ length: random(40) }, () => pieces[random(pieces.length)]).join('');
      const whole = text.replace(/\s+/g, ' ').trim();
      const atLeast = random(50);
      const start = foldedStart(text, atLeast);
      expect(whole.startsWith(start), JSON.stringify(text)).toBe(true);
      expect(start.length).toBeGreaterThanOrEqual(Math.min(atLeast, whole.length));
    }
  });
});
