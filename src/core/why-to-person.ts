import type { Reason } from './classification.js';

/**
 * Why a case went to a person, as one short key the case log keeps (`to_person`) and the monthly
 * report and `status` count: `urgent`, `sensitive:<rule>`, the rule of the hold or threshold that
 * stopped the reply (`thresholds.secondRequest`, `urgency.holdMarkedImportant`, `parse.incomplete`,
 * `smtp.unconfirmed`, ...), or `category:<id>` for a category the policy leaves to a person. Read
 * off the reasons the decision already carries: the step that stopped the reply is the last one.
 * Pure; asked only of a case that waits for a person.
 */
export function whyToPerson(category: string, reasons: ReadonlyArray<Pick<Reason, 'gate' | 'rule'>>): string {
  if (category === URGENT) return 'urgent';
  const last = reasons.at(-1);
  if (last?.gate === 'sensitive') return `sensitive:${last.rule}`;
  if (last && (last.gate === 'threshold' || last.gate === 'parse' || last.rule === 'reply.no-recipient')) return last.rule;
  return `category:${category}`;
}

const URGENT = 'urgent_clinical';

/** Set on a case that reached a person by a route that gives no reason of its own. */
export const TO_PERSON_OTHER = 'other';

const WORDS: Record<string, string> = {
  urgent: 'urgent clinical content',
  'thresholds.closeCall': 'two requests too close to call',
  'thresholds.minConfidence': 'not sure enough what is asked',
  'thresholds.no-category': 'asks something no request category places',
  'thresholds.secondRequest': 'a second request the reply would not answer',
  'urgency.holdMarkedImportant': 'marked high importance by the sender',
  'addressed.copy-only': 'the practice was only copied in',
  'reply.no-recipient': 'no listed hospital address to reply to',
  'limits.bounceCooldownDays': 'an earlier reply to the address bounced',
  'limits.threadReplyWindowDays': 'loop guard: the conversation had a reply already',
  'limits.repliesPerSenderPerDay': 'loop guard: the daily limit for the address',
  'limits.repliesPerPass': 'circuit breaker: the limit of replies per pass',
  killSwitch: 'replies were switched off',
  'autonomy.approve': 'the category needs a person to approve each reply',
  'parse.failed': 'the message could not be read',
  'parse.incomplete': 'parts of the message could not be read',
  'classify.failed': 'the message could not be classified',
  'smtp.refused': 'the mail server refused the reply',
  'smtp.unconfirmed': 'delivery of the reply not confirmed',
  'delivery-not-confirmed': 'delivery of the reply not confirmed (the worker stopped)',
  [TO_PERSON_OTHER]: 'other',
};

/** The key in plain words, for the LMC report and `status`. */
export function describeWhyToPerson(key: string): string {
  if (key.startsWith('sensitive:')) return `a sensitive subject (rule ${key.slice('sensitive:'.length)})`;
  if (key.startsWith('category:')) return `the policy leaves ${key.slice('category:'.length)} to a person`;
  return WORDS[key] ?? key;
}
