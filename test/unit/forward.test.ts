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
    ["please see Dr Rahman's note below", 'Please see Dr Rahman\'s note below. Could the practice arrange a repeat U&E?'],
    ['see the trail below', 'See the trail below - could you arrange the bloods.'],
    ['as per the email below', 'As per the email below, please arrange an ECG.'],
    ["please find Dr Rahman's comments below", "Please find Dr Rahman's comments below. Could the practice arrange a repeat U&E?"],
    ['comments are below', "Dr Rahman's comments are below; could you arrange the bloods."],
    ['FYI as below', 'FYI as below - could you arrange the bloods.'],
    ['details below', 'Details below. Please arrange a repeat U&E.'],
  ])('a reply whose new text points at the history below (%s) is read like a forward', (_name, newText) => {
    expect(isForward({ subject: 'RE: Mr Holloway', quotedText: '-----Original Message-----\nFrom: a@b', newText })).toBe(true);
    expect(isForward({ subject: 'RE: Mr Holloway', quotedText: '', newText }), 'nothing below to read').toBe(false);
  });

  it.each([
    ['RE: Bloods', '-----Original Message-----\nFrom: a@b'],
    ['Bloods', 'On Thu, 19 Nov 2026, Jane wrote:\n> forwarded message'],
    ['Forward planning meeting', ''],
    ['Bloods - FW: follows', ''],
  ])('%j with history %j is not a forward', (subject, quotedText) => {
    expect(isForward({ subject, quotedText })).toBe(false);
    expect(isForward({ subject, quotedText, newText: 'Please arrange the bloods listed below in 2 weeks.' }), 'a list below in the new text is not the history').toBe(false);
  });
});
