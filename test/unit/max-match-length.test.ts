import { describe, expect, it } from 'vitest';
import { prefilteredExec } from '../../src/core/classify.js';
import { loadPolicyText } from '../../src/policy/load-policy.js';
import { maxMatchLength, maxReach } from '../../src/policy/literal-prefixes.js';
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

describe('maxReach', () => {
  it.each([
    ['abc', 3],
    ['\\bab\\b', 4], // each \b reads the character it stands on
    ['call$', 5],
    ['found(?= today)', 11],
    ['found(?! today)', 11],
    ['(?<!after )found', 6],
    ['x(?=(?!y)z)', 3],
    ['x[^.]{0,80}\\by', 83],
  ])('%s looks at most %i characters past where a match starts', (source, expected) => {
    expect(maxReach(source)).toBe(expected);
  });

  it.each([['a+'], ['found(?= .*today)'], ['(?<=(?=a)b)c'], ['(a)\\1']])('%s has no bound it can prove', (source) => {
    expect(maxReach(source)).toBeNull();
  });
});

describe('the search cut after the last required word', () => {
  const example = readFileSync('config/policy.example.yaml', 'utf8');
  // Rules whose result turns on the character just past the cut: a \b, a $, a look-ahead.
  const extra = [
    ['word-end', '\\bpotassium\\b'],
    ['text-end', 'please call$'],
    ['not-followed', '\\bfound\\b(?! today)'],
    ['followed', '\\bbloods(?= tomorrow)'],
    ['window', '\\b(contact|review)\\b[^.]{0,30}\\btoday\\b'],
  ];
  const rulesYaml = extra.map(([id, pattern]) => `    - id: ${id}\n      pattern: '${pattern}'\n      weight: 2\n`).join('');
  const { policy, problems } = loadPolicyText(example.replace('  holdMarkedImportant: true\n  rules:\n', (head) => `${head}${rulesYaml}`), 'test-policy.yaml');

  it('finds what the expression finds, however the text goes on past the last required word', () => {
    expect(problems).toEqual([]);
    const filler = 'We will see him in clinic and check his bloods. '.repeat(30);
    const texts = [
      'His potassiums are fine', 'His potassium is fine', 'potassium', 'potassiumX',
      'Please call me', 'please call', 'please call\nlater',
      'It was found today', 'It was found yesterday', 'found', 'found toda',
      'bloods tomorrow', 'bloods tomorro', 'bloods tomorrow please', 'bloods today',
      'Please review her today', 'Please review her todays list', 'contact her later. Today',
    ];
    let matched = 0;
    for (const [id] of extra) {
      const rule = policy!.urgency.rules.find((r) => r.id === id)!;
      expect(rule.reach, id).not.toBeNull();
      expect(rule.endIds.length, id).toBeGreaterThan(0);
      for (const text of texts.flatMap((t) => [t, `${t}${filler}`, `${filler}${t}`, `${filler}${t} and ${t}s`])) {
        const expected = rule.regex.exec(text);
        if (expected) matched += 1;
        const found = prefilteredExec(rule, text, policy!.literals);
        expect([id, text.slice(-60), found?.index, found?.[0]]).toEqual([id, text.slice(-60), expected?.index, expected?.[0]]);
      }
    }
    expect(matched).toBeGreaterThan(15);
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
