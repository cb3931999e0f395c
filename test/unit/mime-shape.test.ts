import { describe, expect, it } from 'vitest';
import { MAX_MULTIPART_PARTS, mimeShapeProblems } from '../../src/mail/mime-shape.js';

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
