import { describe, expect, it } from 'vitest';
import { htmlNestingDepth, MAX_MULTIPART_PARTS, mimeShapeProblems, multipartHeaderCount } from '../../src/mail/mime-shape.js';

const multipart = (count: number) =>
  Buffer.from(Array.from({ length: count }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join('') + 'Content-Type: text/plain\r\n\r\nhello\r\n');

describe('mimeShapeProblems', () => {
  it.each([
    ['an ordinary Outlook message (mixed > alternative)', multipart(2), 0],
    [`${MAX_MULTIPART_PARTS} multipart sections`, multipart(MAX_MULTIPART_PARTS), 0],
    ['50 nested multipart sections', multipart(50), 1],
    ['a UTF-7 body', Buffer.from('Content-Type: text/plain; charset=utf-7\r\n\r\n+ADw-script+AD4-'), 1],
    ['a quoted UTF-7 charset', Buffer.from('Content-Type: text/html; charset="UTF-7"\r\n\r\nx'), 1],
    ['UTF-8', Buffer.from('Content-Type: text/plain; charset=utf-8\r\n\r\nx'), 0],
    ['HTML nested 30 levels (a long Outlook thread)', Buffer.from(`Content-Type: text/html\r\n\r\n${'<div>'.repeat(30)}Please arrange bloods${'</div>'.repeat(30)}`), 0],
    ['HTML nested 5,000 levels (an HTML bomb)', Buffer.from(`Content-Type: text/html\r\n\r\n${'<div>'.repeat(5000)}Please arrange bloods`), 1],
    ['many sibling paragraphs', Buffer.from(`Content-Type: text/html\r\n\r\n${'<p>line</p>'.repeat(5000)}`), 0],
  ])('%s -> %i problem(s)', (_label, raw, count) => {
    expect(mimeShapeProblems(raw)).toHaveLength(count);
  });
});

/** The scans of the whole text that mimeShapeProblems does in pieces; the two must agree on every input. */
function wholeText(raw: Buffer): { multiparts: number; utf7: boolean; depth: number } {
  const text = raw.toString('latin1');
  const tags = /<(\/?)(?:div|span|table|tbody|tr|td|p|blockquote|font|b|i|u|ul|ol|li|section|article|center)\b[^>]{0,500}?(\/?)>/gi;
  let depth = 0;
  let deepest = 0;
  for (let match = tags.exec(text); match; match = tags.exec(text)) {
    if (match[2]) continue;
    depth = match[1] ? Math.max(0, depth - 1) : depth + 1;
    deepest = Math.max(deepest, depth);
  }
  return { multiparts: text.match(/^content-type:[ \t]*multipart\//gim)?.length ?? 0, utf7: /charset\s*=\s*"?utf-7/i.test(text), depth: deepest };
}

function wholeTextProblems(raw: Buffer): string[] {
  const { multiparts, utf7, depth } = wholeText(raw);
  return [
    ...(multiparts > MAX_MULTIPART_PARTS ? [`${multiparts} multipart sections (more than ${MAX_MULTIPART_PARTS}): an unusual structure, left for a person`] : []),
    ...(utf7 ? ['a part is declared as UTF-7, an obsolete charset used to hide markup: left for a person'] : []),
    ...(depth > 100 ? [`HTML nested ${depth} levels deep (more than 100): an HTML bomb or a broken message, left for a person`] : []),
  ];
}

describe('mimeShapeProblems read in pieces', () => {
  const tokens = ['<div>', '</div>', '<p/>', '<span class="a">', '</span>', '<div <p', '<b <i>', '</td', '>', '<blockquote ' + 'x'.repeat(480) + '>', '<div ' + 'y'.repeat(600) + '>', 'x', ' ', '\r\n', '\r', '\n', 'Content-Type: multipart/mixed\r\n', 'content-type:\tMULTIPART/alt', 'charset=\r\n "UTF-7"', '-7', 'charset=uTf-7', 'Utf', 'uTF', 'x-7', 'charset=', 'QUJD'.repeat(40)];
  let seed = 11;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const randomMessage = (length: number): Buffer => Buffer.from(Array.from({ length }, () => tokens[Math.floor(next() * tokens.length)]).join(''), 'latin1');

  it('finds what one scan of the whole text finds, wherever the pieces end', () => {
    for (let i = 0; i < 400; i++) {
      const raw = randomMessage(1 + Math.floor(next() * 400));
      const expected = wholeText(raw);
      for (const piece of [1, 7, 64, 513, 4096]) {
        expect(htmlNestingDepth(raw, piece), `depth, piece ${piece}, message ${i}`).toBe(expected.depth);
        expect(multipartHeaderCount(raw, piece), `multiparts, piece ${piece}, message ${i}`).toBe(expected.multiparts);
        expect(mimeShapeProblems(raw, piece), `problems, piece ${piece}, message ${i}`).toEqual(wholeTextProblems(raw));
      }
    }
  });

  it('finds an HTML bomb and 20 multipart headers behind a 280 KB attachment, in 64 KB pieces', () => {
    const attachment = `${'QUJD'.repeat(19)}\r\n`.repeat(3_600);
    const raw = Buffer.from(`${'Content-Type: multipart/mixed; boundary=b\r\n'.repeat(20)}\r\n--b\r\n\r\n${attachment}--b\r\nContent-Type: text/html\r\n\r\n${'<div>'.repeat(150)}\r\n`, 'latin1');
    expect(raw.length).toBeGreaterThan(280_000);
    expect(mimeShapeProblems(raw)).toEqual(wholeTextProblems(raw));
    expect(mimeShapeProblems(raw)).toHaveLength(2);
  });
});
