import { describe, expect, it } from 'vitest';
import { decodeCanonicalBase64 as decodeBytes, decodeEvenLines } from '../../src/mail/canonical-base64.js';
import { seededRandom } from '../support/seeded-random.js';

const decodeCanonicalBase64 = (text: string): Buffer | null => decodeBytes(Buffer.from(text, 'latin1'));

/** The check it replaced (a copy without white space, one regular expression): the reference. */
function reference(latin1: string): Buffer | null {
  const compact = latin1.replace(/[\r\n\t ]+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

describe('decodeCanonicalBase64', () => {
  it('decodes MIME base64 of every length, wrapped at 76 characters, as Node decodes it', () => {
    const next = seededRandom(7);
    for (let size = 0; size < 300; size++) {
      const bytes = Buffer.from(Array.from({ length: size }, () => next(256)));
      const text = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
      expect(decodeCanonicalBase64(text)).toEqual(bytes);
    }
  });

  it('decodes an attachment larger than one piece (200 KB, LF or CRLF lines, a trailing line break)', () => {
    const next = seededRandom(11);
    const bytes = Buffer.from(Array.from({ length: 200 * 1024 + 1 }, () => next(256)));
    for (const lineEnd of ['\r\n', '\n']) {
      const text = `${bytes.toString('base64').replace(/.{76}/g, `$&${lineEnd}`)}${lineEnd}`;
      expect(decodeCanonicalBase64(text)!.equals(bytes)).toBe(true);
    }
  });

  it('decodes into the buffer it is given when that is large enough, and into a fresh one when not', () => {
    const bytes = Buffer.from('a clinic letter, as a PDF would carry it', 'latin1');
    const text = Buffer.from(bytes.toString('base64'), 'latin1');
    const large = Buffer.alloc(100, 0x2a);
    const intoLarge = decodeBytes(text, large)!;
    expect(intoLarge.equals(bytes)).toBe(true);
    expect(intoLarge.buffer).toBe(large.buffer);
    expect(large.subarray(bytes.length).every((b) => b === 0x2a)).toBe(true);
    const small = Buffer.alloc(bytes.length - 1, 0x2a);
    const intoFresh = decodeBytes(text, small)!;
    expect(intoFresh.equals(bytes)).toBe(true);
    expect(small.every((b) => b === 0x2a)).toBe(true);
  });

  it.each([
    ['a character outside the alphabet', 'QUJD!A=='],
    ['a URL-safe character', 'QUJD-A=='],
    ['text after the padding', 'QQ==QUJD'],
    ['three padding characters', 'Q==='],
    ['a length that is not a multiple of four', 'QUJDR'],
    ['a NUL byte', 'QUJD\u0000'],
    ['a non-ASCII character', 'QUJDé==='],
    ['a form feed', 'QUJD\fQUJD'],
  ])('declines %s', (_what, text) => {
    expect(decodeCanonicalBase64(text)).toBeNull();
    expect(reference(text)).toBeNull();
  });

  it('agrees with the reference on 20,000 generated texts, valid and not', () => {
    const next = seededRandom(20261126);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const noise = ['\r\n', '\n', ' ', '\t', '=', '-', '_', '\u0000', '\f', 'é', '.', '==', '\r'];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = Buffer.from(Array.from({ length: next(60) }, () => next(256))).toString('base64');
      for (let insert = next(4); insert > 0; insert--) {
        const at = next(text.length + 1);
        const piece = next(3) === 0 ? alphabet[next(alphabet.length)]! : noise[next(noise.length)]!;
        text = text.slice(0, at) + piece + text.slice(at);
      }
      const expected = reference(text);
      if (expected) accepted++;
      expect(decodeCanonicalBase64(text), JSON.stringify(text)).toEqual(expected);
    }
    // Both outcomes must be common, or the comparison proves little.
    expect(accepted).toBeGreaterThan(3_000);
    expect(accepted).toBeLessThan(17_000);
  });

  describe('attachments in even lines, decoded by Node as they stand', () => {
    /** An attachment as encoders lay it out: a width, a line break, a last line that may be shorter. */
    function laidOut(next: (n: number) => number): string {
      const bytes = Buffer.from(Array.from({ length: 3_000 + next(40_000) }, () => next(256)));
      const width = [76, 76, 64, 72, 4, 8, 60, 78, 75][next(9)]!;
      const lineEnd = next(4) === 0 ? '\n' : '\r\n';
      const wrapped = bytes.toString('base64').replace(new RegExp(`.{${width}}`, 'g'), `$&${lineEnd}`);
      const trailing = next(3) === 0 ? '' : lineEnd;
      return wrapped.endsWith(lineEnd) ? (trailing ? wrapped : wrapped.slice(0, -lineEnd.length)) : wrapped + trailing;
    }

    it('takes the even-lines path for what encoders write, with the bytes the reference gives', () => {
      const next = seededRandom(2026112710);
      let taken = 0;
      for (let i = 0; i < 300; i++) {
        const text = laidOut(next);
        const expected = reference(text);
        const even = decodeEvenLines(Buffer.from(text, 'latin1'));
        if (even !== undefined) {
          taken++;
          expect(even.equals(expected!), JSON.stringify(text.slice(0, 100))).toBe(true);
        }
        expect(decodeCanonicalBase64(text)!.equals(expected!)).toBe(true);
      }
      // Widths of 78 and 75 are not multiples of four: those (118 of these 300) go byte by byte.
      expect(taken).toBeGreaterThan(150);
    });

    it.each(['-', '_', '=', '==', ' ', '\t', '\r', '\n', '\u0000', 'é', '.', '!'])('reads %j in place of a character anywhere as the reference does', (noise) => {
      const bytes = Buffer.from(Array.from({ length: 4_000 }, (_, i) => (i * 7 + (i >> 8)) % 256));
      const text = `${bytes.toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
      const last = text.length - 3;
      // The first character, inside a line, the last before a break, the shorter last line, the padding.
      for (const at of [0, 1_000, 75, 68 * 78 + 75, last - 10, last - 1, last]) {
        const changed = text.slice(0, at) + noise + text.slice(at + 1);
        const expected = reference(changed);
        // Only '=' for one of the padding's two leaves it canonical.
        if (!(noise === '=' && at >= last - 1)) expect(expected, `${at}`).toBeNull();
        const even = decodeEvenLines(Buffer.from(changed, 'latin1'));
        if (expected === null) expect(even, `${at}`).toBeUndefined();
        else expect(even?.equals(expected), `${at}`).toBe(true);
        expect(decodeCanonicalBase64(changed), `${at}`).toEqual(expected);
      }
    });

    it('agrees with the reference on 3,000 such texts with a few bytes changed, and leaves every doubt to the byte loop', () => {
      const next = seededRandom(20261127);
      const noise = ['\r\n', '\n', '\r', ' ', '\t', '=', '==', '-', '_', '\u0000', 'é', '.', '!', 'A', '+', '/', '\r\n\r\n'];
      let accepted = 0;
      let taken = 0;
      for (let i = 0; i < 3_000; i++) {
        let text = laidOut(next);
        for (let change = next(3); change > 0; change--) {
          // Near the ends as often as anywhere: that is where padding and the last line are.
          const at = next(2) === 0 ? next(text.length + 1) : Math.max(0, text.length - next(12));
          const kind = next(3);
          if (kind === 0) text = text.slice(0, at) + text.slice(at + 1);
          else if (kind === 1) text = text.slice(0, at) + noise[next(noise.length)]! + text.slice(at);
          else text = text.slice(0, at) + noise[next(noise.length)]! + text.slice(at + 1);
        }
        const expected = reference(text);
        if (expected) accepted++;
        const even = decodeEvenLines(Buffer.from(text, 'latin1'));
        if (even !== undefined) {
          taken++;
          expect(expected, JSON.stringify(text.slice(-120))).not.toBeNull();
          expect(even.equals(expected!), JSON.stringify(text.slice(-120))).toBe(true);
        }
        const decoded = decodeCanonicalBase64(text);
        expect(decoded === null ? null : decoded.equals(expected!), JSON.stringify(text.slice(-120))).toBe(expected === null ? null : true);
      }
      expect(accepted).toBeGreaterThan(600);
      expect(accepted).toBeLessThan(2_400);
      expect(taken).toBeGreaterThan(300);
    });
  });
});

