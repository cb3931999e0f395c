import { describe, expect, it } from 'vitest';
import { backtracksCatastrophically, nestedRepetitions } from '../../src/policy/regex-safety.js';

describe('nestedRepetitions: the scan that picks which patterns to try', () => {
  it.each([
    ['(\\w+\\s?)+!', ['(\\w+\\s?)+']],
    ['(a+)*', ['(a+)*']],
    ['((ab)*c)+', ['((ab)*c)+']],
    ['(a{1,30})+', ['(a{1,30})+']],
    ['([^.]{0,80}x)+', ['([^.]{0,80}x)+']],
    ['(?<=a)(b+)+', ['(b+)+']],
    ['(?<n>a+)+?', ['(?<n>a+)+?']],
    ['(?:\\s+\\w+)+', ['(?:\\s+\\w+)+']],
  ])('%s repeats a group that repeats inside', (source, found) => {
    expect(nestedRepetitions(source)).toEqual(found);
  });

  it.each([
    ['(a{1,5})+', 'a bounded inner repetition'],
    ['(\\s*(,|or|and)){0,14}', 'a bounded outer repetition (the example policy\'s lists of words)'],
    ['(a|b)+', 'no inner repetition'],
    ['\\((a+)\\)+', 'an escaped parenthesis repeated'],
    ['[(]+(a)+', 'a parenthesis in a class'],
    ['[\\]+]+(a+)', 'a repeated class, then a group not repeated'],
    ['\\b(urgent(ly)?|as a matter of urgency)\\b', 'an optional part'],
  ])('%s: nothing (%s)', (source) => {
    expect(nestedRepetitions(source)).toEqual([]);
  });
});

describe('backtracksCatastrophically', () => {
  it('is true for a pattern that backtracks for hours on a plain run of letters', () => {
    expect(backtracksCatastrophically('(\\w+\\s?)+!', 'i')).toBe(true);
  });

  it('is false for a nested repetition that cannot backtrack (each turn starts with a space)', () => {
    expect(backtracksCatastrophically('(?:\\s+\\w+)+!', 'i')).toBe(false);
  });
});
