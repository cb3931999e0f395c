import { describe, expect, it } from 'vitest';
import { isForward } from '../../src/core/forward.js';

describe('isForward', () => {
  it.each([
    ['FW: Bloods', ''],
    ['Fwd: Bloods', ''],
    ['fw : Bloods', ''],
    ['RE: FW: Bloods', ''],
    ['[EXTERNAL] FW: Bloods', ''],
    ['Bloods', '---------- Forwarded message ---------\nFrom: a@b'],
    ['Bloods', '\n\nBegin forwarded message:\nFrom: a@b'],
    ['Bloods', '-----Forwarded by Jane Smith on 19/11/2026-----'],
  ])('%j with history %j is a forward', (subject, quotedText) => {
    expect(isForward({ subject, quotedText })).toBe(true);
  });

  it.each([
    ['RE: Bloods', '-----Original Message-----\nFrom: a@b'],
    ['Bloods', 'On Thu, 19 Nov 2026, Jane wrote:\n> forwarded message'],
    ['Forward planning meeting', ''],
    ['Bloods - FW: follows', ''],
  ])('%j with history %j is not a forward', (subject, quotedText) => {
    expect(isForward({ subject, quotedText })).toBe(false);
  });
});
