import type { Logger } from 'pino';
import type { MailSource } from '../mail/mail-source.js';
import type { Policy } from '../policy/policy.js';
import { caseReference, type CaseStore } from '../store/case-store.js';

/** How long after its delivery went unconfirmed a reply is looked for in the Sent folder; then a person decides alone. */
export const CONFIRM_WINDOW_MS = 24 * 60 * 60 * 1000;

export const CONFIRMED_BY_SENT_COPY = 'the reply is in the Sent folder: it went out before its delivery could be confirmed';

/**
 * A reply whose delivery could not be confirmed (the worker stopped mid-send, or the SMTP connection
 * dropped after the reply was handed over) waits in review and is never sent again automatically.
 * When the mailbox's Sent folder holds it (Exchange saves there what the mailbox submits over SMTP),
 * it did go out: the case is recorded as replied, at the time the copy was saved, and its message
 * leaves the review folder with the next refile. Only that evidence changes anything: no Sent folder,
 * no copy, or a person's decision first (the case no longer in review) leaves the case as it is.
 * With no such case this is one indexed query and no IMAP command: an idle pass stays idle.
 */
export async function confirmSentReplies(store: CaseStore, source: MailSource, policy: Policy, now: number, logger: Logger): Promise<number> {
  const unconfirmed = store.unconfirmedReplies(now - CONFIRM_WINDOW_MS);
  if (unconfirmed.length === 0 || !source.sentCopies) return 0;
  const copies = await source.sentCopies(unconfirmed.map((row) => row.reply_message_id));
  const { folders } = policy.data;
  let confirmed = 0;
  for (const row of unconfirmed) {
    if (!copies.has(row.reply_message_id)) continue;
    const savedAt = copies.get(row.reply_message_id)?.getTime() ?? now;
    const moved = store.transition(row.id, 'replied', now, { actor: 'worker', from: ['review'], repliedAt: savedAt, note: CONFIRMED_BY_SENT_COPY });
    if (!moved) continue;
    if (folders.enabled) store.markForRefile(row.id, folders.review);
    confirmed++;
    logger.info({ caseId: caseReference(row.id) }, 'a reply whose delivery was not confirmed is in the Sent folder: recorded as replied');
  }
  return confirmed;
}
