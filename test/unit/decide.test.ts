import { beforeAll, describe, expect, it } from 'vitest';
import type { Classification } from '../../src/core/classification.js';
import { decide, onlyCopiedIn, replyRecipient, tooOldReason, type DecisionContext } from '../../src/core/decide.js';
import { loadPolicyFile } from '../../src/policy/load-policy.js';
import type { Policy } from '../../src/policy/policy.js';
import type { CategoryId, PolicyAction } from '../../src/policy/schema.js';

let policy: Policy;
beforeAll(() => {
  const result = loadPolicyFile('config/policy.example.yaml');
  if (!result.policy) throw new Error(JSON.stringify(result.problems));
  policy = result.policy;
});

const NOW = new Date('2026-11-20T09:00:00Z');
const RECENT = new Date('2026-11-19T09:00:00Z');

function classification(category: CategoryId, action: PolicyAction): Classification {
  return { category, action, confidence: 0.9, organisation: 'Northmere University Hospitals NHS Trust', organisationId: 'northmere', reasons: [], scores: {} };
}

function context(overrides: Partial<DecisionContext> = {}): DecisionContext {
  return {
    now: NOW,
    dryRun: false,
    killSwitch: { active: false, why: '' },
    repliesThisPass: 0,
    recipientRepliesLast24h: 0,
    threadAlreadyReplied: false,
    recipientBouncedRecently: false,
    onlyCopiedIn: false,
    markedHighImportance: null,
    answersOurReply: null,
    reusesMessageIdOf: null,
    ...overrides,
  };
}

function withAutonomy(category: CategoryId, autonomy: 'auto' | 'approve' | 'shadow'): Policy {
  const categories = { ...policy.data.categories, [category]: { ...policy.data.categories[category]!, autonomy } };
  return { ...policy, data: { ...policy.data, categories } };
}

describe('decide', () => {
  it.each([
    ['urgent_clinical', 'review', 'review'],
    ['clinical_information', 'file', 'filed'],
    ['auto_generated', 'ignore', 'ignored'],
    ['non_hospital', 'file', 'filed'],
    ['unclear', 'review', 'review'],
  ] as const)('%s (%s) is never answered: %s', (category, action, status) => {
    const decision = decide(classification(category, action), RECENT, policy, context());
    expect(decision.status).toBe(status);
    expect(decision.renderReply).toBe(false);
  });

  it('sends a reply to a recent request when the category is on auto', () => {
    const decision = decide(classification('blood_test_request', 'reply'), RECENT, policy, context());
    expect(decision).toMatchObject({ status: 'decided', renderReply: true });
  });

  it.each([
    ['the kill switch is on', { killSwitch: { active: true, why: 'the stop file data/STOP exists' } }, 'killSwitch'],
    ['the recipient bounced recently', { recipientBouncedRecently: true }, 'limits.bounceCooldownDays'],
    ['the conversation already had a reply', { threadAlreadyReplied: true }, 'limits.threadReplyWindowDays'],
    ['the recipient is at the daily cap', { recipientRepliesLast24h: 20 }, 'limits.repliesPerSenderPerDay'],
    ['the pass hit its circuit breaker', { repliesThisPass: 50 }, 'limits.repliesPerPass'],
    ['our mailbox is only copied in', { onlyCopiedIn: true }, 'addressed.copy-only'],
    ['the sender marked it high importance', { markedHighImportance: 'Importance: High' }, 'urgency.holdMarkedImportant'],
    ['a different message came earlier with its Message-ID', { reusesMessageIdOf: 'PCN-000001' }, 'duplicate.messageId'],
    ['it answers one of our replies', { answersOurReply: '<pcn-autoreply.PCN-000003.abcdefghijkl@nhs.net> (our reply to PCN-000003)' }, 'loop.answersOurReply'],
  ] as const)('holds the reply for review when %s, naming the limit', (_label, overrides, rule) => {
    const decision = decide(classification('blood_test_request', 'reply'), RECENT, policy, context(overrides));
    expect(decision.status).toBe('review');
    expect(decision.renderReply).toBe(true);
    expect(decision.reasons.map((r) => r.rule)).toContain(rule);
  });

  it('holds a reply for a person when the message may also ask for something another reply answers, naming it', () => {
    const both = { ...classification('blood_test_request', 'reply'), scores: { blood_test_request: 6, prescribing_request: 3, unclear: 2 } };
    const decision = decide(both, RECENT, policy, context());
    expect(decision).toMatchObject({ status: 'review', renderReply: true });
    const reason = decision.reasons.find((r) => r.rule === 'thresholds.secondRequest');
    expect(reason?.detail).toContain('prescribing_request (score 3');
  });

  it.each([
    ['a second request under the minimum score', { blood_test_request: 6, prescribing_request: 2 }],
    ['a letter-for-information score beside the request', { blood_test_request: 6, clinical_information: 4 }],
    ['a review category beside the request', { blood_test_request: 6, shared_care_request: 1 }],
  ])('sends the reply with %s', (_label, scores) => {
    const decision = decide({ ...classification('blood_test_request', 'reply'), scores }, RECENT, policy, context());
    expect(decision.status).toBe('decided');
  });

  it('answers a request marked high importance when the policy turns the hold off', () => {
    const unheld: Policy = { ...policy, data: { ...policy.data, urgency: { ...policy.data.urgency, holdMarkedImportant: false } } };
    const decision = decide(classification('blood_test_request', 'reply'), RECENT, unheld, context({ markedHighImportance: 'Importance: High' }));
    expect(decision.status).toBe('decided');
  });

  it('logs would_reply in a dry run', () => {
    expect(decide(classification('fit_note_request', 'reply'), RECENT, policy, context({ dryRun: true })).status).toBe('would_reply');
  });

  it.each([
    ['approve', 'awaiting_approval'],
    ['shadow', 'shadowed'],
  ] as const)('autonomy %s gives %s and never sends', (autonomy, status) => {
    const decision = decide(classification('appointment_request', 'reply'), RECENT, withAutonomy('appointment_request', autonomy), context());
    expect(decision.status).toBe(status);
    expect(decision.renderReply).toBe(true);
  });

  it('never answers a message older than the maximum age', () => {
    const old = new Date('2026-10-01T09:00:00Z');
    const decision = decide(classification('blood_test_request', 'reply'), old, policy, context());
    expect(decision.status).toBe('too_old');
    expect(decision.reasons[0]?.rule).toBe('limits.maxAgeDays');
  });

  it('never answers mail received before the go-live date', () => {
    const golive: Policy = { ...policy, data: { ...policy.data, limits: { ...policy.data.limits, notBefore: '2026-11-20' } } };
    expect(tooOldReason(RECENT, golive, NOW)?.rule).toBe('limits.notBefore');
  });
});

describe('replyRecipient', () => {
  const isHospital = (address: string) => address.endsWith('@northmere.nhs.uk');
  it.each([
    ['the sender', { name: '', address: 'a@northmere.nhs.uk' }, [], 'a@northmere.nhs.uk'],
    ['a hospital Reply-To (team mailbox)', { name: '', address: 'a@northmere.nhs.uk' }, [{ name: '', address: 'team@northmere.nhs.uk' }], 'team@northmere.nhs.uk'],
    ['the sender, not a Reply-To outside the hospitals', { name: '', address: 'a@northmere.nhs.uk' }, [{ name: '', address: 'x@gmail.com' }], 'a@northmere.nhs.uk'],
    ['the hospital Reply-To even when From is not one (the sender gate runs first, in classify)', { name: '', address: 'x@gmail.com' }, [{ name: '', address: 'a@northmere.nhs.uk' }], 'a@northmere.nhs.uk'],
  ])('goes to %s', (_label, from, replyTo, expected) => {
    expect(replyRecipient(from, replyTo, isHospital)).toBe(expected);
  });

  it('is null when neither From nor Reply-To is a hospital', () => {
    expect(replyRecipient({ name: '', address: 'x@gmail.com' }, [], isHospital)).toBeNull();
  });
});

describe('onlyCopiedIn', () => {
  const ours = ['rivermarsh.pcnalliance@nhs.net'];
  const a = (address: string) => ({ name: '', address });
  it.each([
    ['addressed to a colleague, our mailbox in Cc', [a('dr.khan@northmere.nhs.uk')], [a('Rivermarsh.PCNAlliance@nhs.net')], true],
    ['addressed to us', [a('rivermarsh.pcnalliance@nhs.net')], [a('dr.khan@northmere.nhs.uk')], false],
    ['in To and Cc both', [a('rivermarsh.pcnalliance@nhs.net')], [a('rivermarsh.pcnalliance@nhs.net')], false],
    ['sent to us by Bcc (in neither)', [a('undisclosed-recipients@northmere.nhs.uk')], [], false],
  ] as const)('%s -> %s', (_label, to, cc, expected) => {
    expect(onlyCopiedIn(to, cc, ours)).toBe(expected);
  });
});
