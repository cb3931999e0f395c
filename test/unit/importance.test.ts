import { describe, expect, it } from 'vitest';
import { highImportanceMark } from '../../src/core/importance.js';
import { parseHeaderBlock } from '../../src/mail/parse-headers.js';

function headersOf(lines: string[]) {
  return parseHeaderBlock(Buffer.from([...lines, 'From: a@northmere.nhs.uk', 'Subject: Bloods', '', ''].join('\r\n')));
}

describe('highImportanceMark', () => {
  it.each([
    [['Importance: High'], 'Importance: High'],
    [['importance: high'], 'Importance: high'],
    [['X-Priority: 1 (Highest)'], 'X-Priority: 1 (Highest)'],
    [['X-Priority: 2'], 'X-Priority: 2'],
    [['X-MSMail-Priority: High'], 'X-MSMail-Priority: High'],
    [['Priority: urgent'], 'Priority: urgent'],
    [['Importance: Normal', 'X-Priority: 1'], 'X-Priority: 1'],
  ])('reads %j as marked high importance', (lines, expected) => {
    expect(highImportanceMark(headersOf(lines))).toBe(expected);
  });

  it.each([[[]], [['Importance: Normal']], [['Importance: Low']], [['X-Priority: 3 (Normal)']], [['X-Priority: 5']], [['X-Priority: 10']], [['X-MSMail-Priority: Normal']], [['Priority: normal']], [['Priority: non-urgent']]])(
    'reads %j as not marked',
    (lines) => {
      expect(highImportanceMark(headersOf(lines))).toBeNull();
    },
  );
});
