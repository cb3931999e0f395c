import { describe, expect, it } from 'vitest';
import type { Reason } from '../../src/core/classification.js';
import { describeWhyToPerson, whyToPerson } from '../../src/core/why-to-person.js';

const sender: Reason = { gate: 'sender', rule: 'hospital.northmere', detail: 'listed hospital' };
const bloods: Reason = { gate: 'category', rule: 'arrange-bloods', detail: 'asks for bloods', category: 'blood_test_request', weight: 3 };

describe('why a case went to a person', () => {
  it.each<[string, string, Reason[], string]>([
    ['urgent content, whatever came after it', 'urgent_clinical', [sender, { gate: 'urgency', rule: 'critical-result', detail: 'urgent' }], 'urgent'],
    ['a sensitive subject, named by its rule', 'blood_test_request', [sender, bloods, { gate: 'sensitive', rule: 'patient-died', detail: 'sensitive' }], 'sensitive:patient-died'],
    ['the hold that stopped the reply', 'blood_test_request', [sender, bloods, { gate: 'threshold', rule: 'thresholds.secondRequest', detail: 'a second request' }], 'thresholds.secondRequest'],
    ['a message only partly read', 'blood_test_request', [sender, bloods, { gate: 'parse', rule: 'parse.incomplete', detail: 'unread attachment' }], 'parse.incomplete'],
    ['a later failure to deliver the reply', 'blood_test_request', [sender, bloods, { gate: 'threshold', rule: 'smtp.unconfirmed', detail: 'not confirmed' }], 'smtp.unconfirmed'],
    ['no hospital address to answer', 'blood_test_request', [sender, bloods, { gate: 'sender', rule: 'reply.no-recipient', detail: 'none' }], 'reply.no-recipient'],
    ['a category the policy leaves to a person', 'shared_care_request', [sender, { gate: 'category', rule: 'shared-care', detail: 'shared care' }], 'category:shared_care_request'],
    ['a case with no reasons at all', 'unclear', [], 'category:unclear'],
  ])('%s', (_, category, reasons, key) => {
    expect(whyToPerson(category, reasons)).toBe(key);
  });

  it('says each in plain words, naming the rule where the policy has many', () => {
    expect(describeWhyToPerson('urgent')).toBe('urgent clinical content');
    expect(describeWhyToPerson('thresholds.secondRequest')).toBe('a second request the reply would not answer');
    expect(describeWhyToPerson('sensitive:patient-died')).toBe('a sensitive subject (rule patient-died)');
    expect(describeWhyToPerson('category:shared_care_request')).toBe('the policy leaves shared_care_request to a person');
    expect(describeWhyToPerson('a-rule-of-a-later-version')).toBe('a-rule-of-a-later-version');
  });
});
