import { describe, expect, it } from 'vitest';
import { prefilteredExec } from '../../src/core/classify.js';
import { loadPolicyText } from '../../src/policy/load-policy.js';
import { maxMatchLength } from '../../src/policy/literal-prefixes.js';
import { readFileSync } from 'node:fs';

describe('maxMatchLength', () => {
  it.each([
    ['abc', 3],
    ['\\bab\\b', 2],
    ['a|bcd|ef', 3],
    ['(ab|c)d', 3],
    ['(?:ab)?c', 3],
    ['[a-z]{2,5}x', 6],
    ['a{3}', 3],
    ['x[^.]{0,80}y', 82],
    ['(?<!after )found(?= today)', 5],
    ['(?<name>ab)c', 3],
    ['\\u0041', 5], // read loosely: more than the one character it is, never less
    ['a??b', 2],
  ])('%s is at most %i long', (source, expected) => {
    expect(maxMatchLength(source)).toBe(expected);
  });

  it.each([['a+'], ['a*'], ['\\s*x'], ['a{2,}'], ['(a)\\1'], ['(ab'], ['a)']])('%s has no bound it can prove', (source) => {
    expect(maxMatchLength(source)).toBeNull();
  });

  it('is never shorter than a real match (the search may start that far before the first required word)', () => {
    const cases: Array<[string, string]> = [
      ['\\b(contact|review)\\b[^.]{0,80}\\btoday\\b', 'Please review the letter and contact the patient about it today'],
      ['x{2,4}y', 'xxxxy'],
      ['(ab|abcd)?e', 'abcde'],
    ];
    for (const [source, text] of cases) {
      const match = new RegExp(source, 'i').exec(text);
      expect(match, source).not.toBeNull();
      expect(match![0].length).toBeLessThanOrEqual(maxMatchLength(source)!);
    }
  });
});

describe('the search window before a required word', () => {
  it('starts the search near the first required word, and finds what the expression finds', () => {
    const example = readFileSync('config/policy.example.yaml', 'utf8');
    const { policy } = loadPolicyText(example, 'config/policy.example.yaml');
    const rule = policy!.urgency.rules.find((r) => r.id === 'action-today')!;
    expect(rule.maxLength).not.toBeNull();
    const filler = 'We will review him in clinic and check his bloods. '.repeat(40);
    for (const text of [`${filler}Please contact her today.`, `Today was fine. ${filler}`, `${filler}Contact her.\nShe is fine today.`, `${filler}please ring her today`]) {
      const expected = rule.regex.exec(text);
      const found = prefilteredExec(rule, text, policy!.literals);
      expect([found?.index, found?.[0]]).toEqual([expected?.index, expected?.[0]]);
    }
  });
});
