import { describe, expect, it } from 'vitest';
import { CSV_BOM, csvCell, csvRow, parseCsv } from '../../src/report/csv.js';

describe('CSV for Excel', () => {
  it('quotes cells with commas, quotes or line breaks, doubling inner quotes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });

  it('writes empty cells for null and undefined, and numbers and booleans as text', () => {
    expect(csvRow([null, undefined, 0, -1.5, true])).toBe(',,0,-1.5,true\r\n');
  });

  it.each(['=SUM(A1)', '+44 1632', '-x', '@cmd', '\tindent', '\rreturn'])('guards %j against being run as a formula', (text) => {
    expect(parseCsv(csvRow([text]))[0]![0]).toBe(`'${text}`);
  });

  it('does not guard our own negative numbers', () => {
    expect(csvCell(-3)).toBe('-3');
  });

  it('parses back what it writes, with or without the byte-order mark', () => {
    const rows = [
      ['id', 'subject', 'reasons'],
      ['1', 'quote "this", please', '[{"a":1}]'],
      ['2', 'line\r\nbreak', ''],
      ['3', 'unicode é 😀', 'x'],
    ];
    const text = CSV_BOM + rows.map(csvRow).join('');
    expect(text.startsWith('\uFEFFid,')).toBe(true);
    expect(parseCsv(text)).toEqual(rows);
    expect(parseCsv(text.slice(1))).toEqual(rows);
  });
});
