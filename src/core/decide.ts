import type { Classification, Reason } from './classification.js';
import type { CaseStatus } from './case-status.js';
import type { MailAddress } from './message.js';
import type { Policy } from '../policy/policy.js';
import type { CategoryId } from '../policy/schema.js';

/** What the worker knows beyond the message itself; gathered from the case log before deciding. */
export interface DecisionContext {
  now: Date;
  dryRun: boolean;
  killSwitch: { active: boolean; why: string };
  repliesThisPass: number;
  /** Automatic replies already sent to the reply's recipient in the last 24 hours. */
  recipientRepliesLast24h: number;
  /** A reply already went into this conversation within the policy's window. */
  threadAlreadyReplied: boolean;
  /** Our mail to this recipient bounced within the policy's cooldown. */
  recipientBouncedRecently: boolean;
  /** Our mailbox is among the Cc but not the To recipients (onlyCopiedIn): the message is addressed to someone else. */
  onlyCopiedIn: boolean;
  /** The header by which the sender marked the message high importance (highImportanceMark), or null. */
  markedHighImportance: string | null;
  /** How the message answers one of our automatic replies (answersOurReply), or null. */
  answersOurReply: string | null;
  /** The case of a different message logged earlier under this message's Message-ID, or null. */
  reusesMessageIdOf: string | null;
}

export interface Decision {
  /** The status the case is recorded with. `decided` means: send the reply now. */
  status: CaseStatus;
  /** Render a reply (to send, to hold for approval, or to show in a dry run / shadow log). */
  renderReply: boolean;
  reasons: Reason[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Why a message is too old to answer, or null. Applied before any body is fetched. */
export function tooOldReason(receivedAt: Date, policy: Policy, now: Date): Reason | null {
  const { maxAgeDays, notBefore } = policy.data.limits;
  const ageDays = (now.getTime() - receivedAt.getTime()) / DAY_MS;
  if (ageDays > maxAgeDays) {
    return {
      gate: 'threshold',
      rule: 'limits.maxAgeDays',
      detail: `received ${Math.floor(ageDays)} days ago; the policy answers nothing older than ${maxAgeDays} days`,
      matched: receivedAt.toISOString(),
      where: 'header',
    };
  }
  if (notBefore && receivedAt.getTime() < Date.parse(`${notBefore}T00:00:00Z`)) {
    return {
      gate: 'threshold',
      rule: 'limits.notBefore',
      detail: `received before the go-live date ${notBefore}`,
      matched: receivedAt.toISOString(),
      where: 'header',
    };
  }
  return null;
}

/**
 * Turn a classification into what happens to the case. Pure: every limit is read from the
 * context, and every refusal to reply says which limit stopped it.
 */
export function decide(classification: Classification, receivedAt: Date, policy: Policy, context: DecisionContext): Decision {
  const reasons: Reason[] = [];
  const finish = (status: CaseStatus, renderReply = false): Decision => ({ status, renderReply, reasons });
  const hold = (rule: string, detail: string, matched?: string): Decision => {
    reasons.push(matched === undefined ? { gate: 'threshold', rule, detail } : { gate: 'threshold', rule, detail, matched, where: 'header' });
    return finish('review', true);
  };

  switch (classification.action) {
    case 'review':
      return finish('review');
    case 'file':
      return finish('filed');
    case 'ignore':
      return finish('ignored');
    case 'reply':
      break;
  }

  const old = tooOldReason(receivedAt, policy, context.now);
  if (old) {
    reasons.push(old);
    return finish('too_old');
  }
  const category = policy.data.categories[classification.category];
  const autonomy = category?.autonomy ?? 'shadow';
  if (autonomy === 'shadow') {
    reasons.push({ gate: 'threshold', rule: 'autonomy.shadow', detail: `category ${classification.category} is in shadow mode: the reply is logged, not sent` });
    return finish('shadowed', true);
  }
  if (context.killSwitch.active) return hold('killSwitch', `replies are switched off (${context.killSwitch.why}); left for a person`);
  if (context.onlyCopiedIn) {
    return hold('addressed.copy-only', 'our mailbox is only copied in (Cc): the message is addressed to someone else, so its request may not be the practice\'s to answer');
  }
  if (context.answersOurReply !== null) {
    return hold(
      'loop.answersOurReply',
      'the message answers one of our automatic replies (loop guard): a person reads it, so the template never answers its own reply',
      context.answersOurReply,
    );
  }
  if (context.reusesMessageIdOf !== null) {
    return hold(
      'duplicate.messageId',
      `a different message (${context.reusesMessageIdOf}) came earlier with the same Message-ID: a person checks which is which before anything is sent`,
      context.reusesMessageIdOf,
    );
  }
  const second = secondRequest(classification, policy);
  if (second) {
    return hold(
      'thresholds.secondRequest',
      `the message may also ask for ${second.category} (score ${second.score}, the minimum is ${policy.data.thresholds.minScore}), which this reply does not answer: a person checks it before it goes`,
    );
  }
  if (context.markedHighImportance !== null && policy.data.urgency.holdMarkedImportant) {
    return hold(
      'urgency.holdMarkedImportant',
      'the sender marked the message high importance: it may be urgent in words the urgency rules do not know, so a person reads it first',
      context.markedHighImportance,
    );
  }
  if (context.recipientBouncedRecently) {
    return hold('limits.bounceCooldownDays', `an earlier reply to this address bounced within ${policy.data.limits.bounceCooldownDays} days`);
  }
  if (context.threadAlreadyReplied) {
    return hold('limits.threadReplyWindowDays', `this conversation already had an automatic reply within ${policy.data.limits.threadReplyWindowDays} days (loop guard)`);
  }
  if (context.recipientRepliesLast24h >= policy.data.limits.repliesPerSenderPerDay) {
    return hold('limits.repliesPerSenderPerDay', `${context.recipientRepliesLast24h} automatic replies already went to this address in 24 hours (loop guard)`);
  }
  if (context.repliesThisPass >= policy.data.limits.repliesPerPass) {
    return hold('limits.repliesPerPass', `circuit breaker: ${policy.data.limits.repliesPerPass} replies already sent in this pass`);
  }
  if (autonomy === 'approve') {
    reasons.push({ gate: 'threshold', rule: 'autonomy.approve', detail: 'reply rendered and held for a person to approve' });
    return finish('awaiting_approval', true);
  }
  if (context.dryRun) {
    reasons.push({ gate: 'threshold', rule: 'dry-run', detail: 'dry run: the reply is logged, not sent' });
    return finish('would_reply', true);
  }
  return finish('decided', true);
}

/**
 * The strongest other request category that reaches the policy's minimum score and would be answered
 * with another template, or null. "Please could you prescribe apixaban and arrange a repeat FBC"
 * answered about the bloods alone, and filed as replied, would leave the prescription to nobody.
 * (Closer calls are `unclear` already, in classify.)
 */
export function secondRequest(classification: Classification, policy: Policy): { category: CategoryId; score: number } | null {
  const template = policy.data.categories[classification.category]?.template;
  let best: { category: CategoryId; score: number } | null = null;
  for (const [id, score] of Object.entries(classification.scores) as Array<[CategoryId, number]>) {
    if (id === classification.category || score < policy.data.thresholds.minScore) continue;
    const other = policy.data.categories[id];
    if (other?.action !== 'reply' || other.template === template) continue;
    if (!best || score > best.score) best = { category: id, score };
  }
  return best;
}

/**
 * Whether one of `ours` (the shared mailbox's addresses) is among the Cc recipients but none is among
 * the To: a consultant writing to a colleague with the practice copied in ("Dear Dr Khan, could you
 * arrange an MRI?") asks the colleague, not the practice. A message sent to us by Bcc (in neither)
 * is not one of these.
 */
export function onlyCopiedIn(to: readonly MailAddress[], cc: readonly MailAddress[], ours: readonly string[]): boolean {
  const isOurs = (a: MailAddress): boolean => ours.includes(a.address.toLowerCase());
  return cc.some(isOurs) && !to.some(isOurs);
}

/**
 * Who receives the reply: the sender, or its Reply-To when that is also a listed hospital
 * address (a team mailbox). Never an address outside the hospital list.
 */
export function replyRecipient(
  from: MailAddress | null,
  replyTo: readonly MailAddress[],
  isHospitalAddress: (address: string) => boolean,
): string | null {
  const preferred = replyTo[0]?.address;
  if (preferred && isHospitalAddress(preferred)) return preferred;
  return from && isHospitalAddress(from.address) ? from.address : null;
}
