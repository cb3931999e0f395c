import { describe, expect, it } from 'vitest';
import { LiteralTable } from '../../src/policy/literal-prefixes.js';

// The scan names the rules a text leaves possible from the literals it holds; the classifier skips
// every other rule without reading a word of it, so a rule left out wrongly would never fire.
describe('LiteralIndex.scan', () => {
  const table = new LiteralTable();
  const id = (literal: string) => table.idOf(literal);
  const bloods = table.registerRule([[id('bloods'), id('u&e')], [id('please')]]);
  const today = table.registerRule([[id('today')], [id('please')]]);
  const anything = table.registerRule([]);
  const impossible = table.registerRule([[]]);
  const index = table.build();

  it('marks a rule possible when a word of its first set occurs, in any case, and only then', () => {
    const scan = index.scan('Please repeat her U&E.');
    expect([scan.candidate[bloods], scan.candidate[today]]).toEqual([1, 0]);
    expect(scan.first[id('u&e')]).toBe(18);
    const later = index.scan('TODAY please');
    expect([later.candidate[bloods], later.candidate[today]]).toEqual([0, 1]);
  });

  it('a rule that needs no word is possible in every text; one whose first set is empty in none', () => {
    for (const text of ['bloods today', 'nothing here']) {
      const scan = index.scan(text);
      expect([scan.candidate[anything], scan.candidate[impossible]]).toEqual([1, 0]);
    }
  });

  it('a result lent earlier keeps its marks for four more scans; the fifth reuses its slot', () => {
    const first = index.scan('bloods');
    for (const text of ['today', 'today', 'today', 'today']) index.scan(text);
    expect(first.candidate[bloods]).toBe(1);
    index.scan('today');
    expect(first.candidate[bloods]).toBe(0);
  });

  it('finds where a tracked word last occurs, in any case, and forgets it for the next text', () => {
    const tracked = new LiteralTable();
    const potassium = tracked.idOf('potassium');
    const today = tracked.idOf('today');
    tracked.registerRule([[potassium], [today]]);
    tracked.trackLast([potassium]);
    const index = tracked.build();
    const text = 'Potassium 5.1 today. Repeat the POTASSIUM next week; potassium was 4.9 before.';
    const scan = index.scan(text);
    expect(scan.first[potassium]).toBe(0);
    expect(scan.last[potassium]).toBe(text.lastIndexOf('potassium'));
    expect(scan.first[today]).toBe(14);
    const next = index.scan('No potassium here');
    for (let i = 0; i < 3; i++) index.scan('nothing at all');
    const reused = index.scan('today only');
    expect(next.last[potassium]).toBe(3);
    expect([reused.first[potassium], reused.last[potassium]]).toEqual([-1, -1]);
  });
});
