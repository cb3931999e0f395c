import { describe, expect, it } from 'vitest';
import { decodeCanonicalBase64 as decodeBytes } from '../../src/mail/canonical-base64.js';
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
});
