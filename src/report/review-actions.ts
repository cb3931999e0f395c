import { randomBytes } from 'node:crypto';
import { replyMessageId } from '../core/reply-message-id.js';
import type { Reason } from '../core/classification.js';
import { folderKeyFor, type CaseStatus } from '../core/case-status.js';
import type { MessageHeaders } from '../core/message.js';
import { renderReply, type RenderedReply } from '../core/render-reply.js';
import { isHospitalAddress } from '../core/sender.js';
import { emptyHeaders } from '../mail/parse-headers.js';
import { SendError, type ReplySender } from '../mail/reply-sender.js';
import type { Policy } from '../policy/policy.js';
import { CATEGORY_IDS, type CategoryId } from '../policy/schema.js';
import type { CompiledTemplates } from '../reply/compile-templates.js';
import { caseReference, type CaseRow, type CaseStore } from '../store/case-store.js';
import { storedReply } from '../worker/run-pass.js';

const WAITING: readonly CaseStatus[] = ['review', 'awaiting_approval'];

/** A review action that cannot be done, with the reason in plain words. */
export class ReviewRefusal extends Error {}

export interface ReviewContext {
  store: CaseStore;
  policy: Policy;
  templates: CompiledTemplates;
  mailFrom: string;
  /** Who acts: recorded in the case's history. */
  actor: string;
  clock: () => Date;
}

function findWaiting(store: CaseStore, id: string, verb: string): CaseRow {
  const row = store.find(id);
  if (!row) throw new ReviewRefusal(`no case "${id}" in this database (use a case reference such as PCN-000123 or a Message-ID)`);
  const ref = caseReference(row.id);
  if (row.status === 'sending') {
    throw new ReviewRefusal(`${ref} cannot be ${verb}: delivery not confirmed (a reply was being sent when the worker stopped); check the Sent folder of the shared mailbox, then let the next pass move it to review`);
  }
  if (!WAITING.includes(row.status)) throw new ReviewRefusal(`${ref} is not waiting for review: its status is ${row.status}`);
  return row;
}

/**
 * Send the case's reply through the same exactly-once path as the worker:
 * review|awaiting_approval -> sending (compare-and-set) -> replied. If two people approve at the
 * same moment only one wins the compare-and-set, so the reply goes out once.
 */
/**
 * The waiting case approval would answer, and where; a ReviewRefusal when it may not be approved
 * (urgent, not a category the policy answers, not a listed hospital). Checked before anything is
 * needed to send, so a refusal is what the person hears first.
 */
export function approvable(context: ReviewContext, id: string): { row: CaseRow; recipient: string } {
  const { store, policy } = context;
  const row = findWaiting(store, id, 'approved');
  const ref = caseReference(row.id);
  if (row.category === 'urgent_clinical') {
    throw new ReviewRefusal(`${ref} is an urgent clinical message: it is never answered with the template reply. Act on it clinically, then use "review reject ${ref} --note ..." or reclassify it if it was not urgent`);
  }
  const categoryPolicy = policy.data.categories[row.category as CategoryId];
  if (!categoryPolicy || categoryPolicy.action !== 'reply') {
    throw new ReviewRefusal(`${ref} is classed as ${row.category}, which the policy does not answer with a reply; reclassify it first if that is wrong`);
  }
  const recipient = row.reply_to_address;
  if (!recipient || !isHospitalAddress(recipient, policy)) {
    throw new ReviewRefusal(`${ref} would be answered to ${recipient ?? 'nobody'}, which is not a listed hospital address; replies only go to listed hospitals`);
  }
  return { row, recipient };
}

export async function approveCase(context: ReviewContext, id: string, sender: ReplySender, note: string | null): Promise<{ row: CaseRow; response: string }> {
  const { store } = context;
  const { row, recipient } = approvable(context, id);
  const ref = caseReference(row.id);
  const reply = row.reply_message_id && row.reply_text ? storedReply(row, context.mailFrom) : renderForCase(context, row, recipient);
  const fresh = !(row.reply_message_id && row.reply_text);
  const won = store.transition(row.id, 'sending', context.clock().getTime(), {
    actor: context.actor,
    from: WAITING,
    note: note ?? 'approved for sending',
    ...(fresh ? { reply: replyFieldsOf(reply) } : {}),
  });
  if (!won) {
    const now = store.get(row.id)?.status ?? 'unknown';
    throw new ReviewRefusal(`${ref} changed while you were approving it (now ${now}): someone else acted on it first; nothing was sent by this command`);
  }
  try {
    const result = await sender.send(reply);
    const at = context.clock().getTime();
    store.transition(row.id, 'replied', at, { actor: context.actor, from: ['sending'], smtpResponse: result.response, repliedAt: at, note: null });
    markForRefile(context, row, 'replied');
    return { row: store.get(row.id)!, response: result.response };
  } catch (error) {
    const sendError = error instanceof SendError ? error : new SendError(String((error as Error)?.message ?? error), 'transient', String(error), false);
    const at = context.clock().getTime();
    const certainlyNotSent = sendError.notAccepted;
    const why = certainlyNotSent
      ? `not sent: the mail server refused it (${sendError.response}); approve again later`
      : `delivery not confirmed (${sendError.response}): for a day, each pass looks for it in the Sent folder; check there before approving again`;
    store.transition(row.id, 'review', at, {
      actor: context.actor,
      from: ['sending'],
      smtpResponse: sendError.response,
      note: why,
      extraReasons: certainlyNotSent ? [] : [{ gate: 'threshold', rule: 'smtp.unconfirmed', detail: why }],
    });
    throw new ReviewRefusal(`${ref}: ${why}`);
  }
}

export function rejectCase(context: ReviewContext, id: string, note: string): CaseRow {
  const row = findWaiting(context.store, id, 'rejected');
  if (!note.trim()) throw new ReviewRefusal('a rejection needs a note saying why (--note "...")');
  const won = context.store.transition(row.id, 'rejected', context.clock().getTime(), { actor: context.actor, from: WAITING, note });
  if (!won) throw new ReviewRefusal(`${caseReference(row.id)} changed while you were rejecting it; nothing was changed`);
  markForRefile(context, row, 'rejected');
  return context.store.get(row.id)!;
}

/**
 * Record a person's category, then act as the policy says for it. A reply category never sends
 * silently: the reply is rendered and held as awaiting_approval for the same person to approve.
 */
export function reclassifyCase(context: ReviewContext, id: string, category: string, note: string | null): CaseRow {
  const { store, policy } = context;
  if (!(CATEGORY_IDS as readonly string[]).includes(category)) {
    throw new ReviewRefusal(`"${category}" is not a category; use one of: ${CATEGORY_IDS.join(', ')}`);
  }
  const categoryPolicy = policy.data.categories[category as CategoryId];
  if (!categoryPolicy) throw new ReviewRefusal(`the policy has no settings for category ${category}; add it to the policy first`);
  const row = findWaiting(store, id, 'reclassified');
  const ref = caseReference(row.id);
  const recipient = row.reply_to_address && isHospitalAddress(row.reply_to_address, policy) ? row.reply_to_address : null;
  let status: CaseStatus;
  let actionNote: string;
  let reply: RenderedReply | null = null;
  if (categoryPolicy.action === 'reply' && recipient) {
    status = 'awaiting_approval';
    reply = renderForCase(context, { ...row, category }, recipient);
    actionNote = `reply rendered and held for approval (review approve ${ref})`;
  } else if (categoryPolicy.action === 'reply') {
    status = 'review';
    actionNote = 'no listed hospital address to reply to: stays in review';
  } else if (categoryPolicy.action === 'file') {
    status = 'filed';
    actionNote = 'filed as the policy says for this category';
  } else if (categoryPolicy.action === 'ignore') {
    status = 'ignored';
    actionNote = 'ignored as the policy says for this category';
  } else {
    status = 'review';
    actionNote = 'the policy leaves this category for a person: stays in review';
  }
  const from = row.category;
  const reason: Reason = { gate: 'category', rule: 'reclassified', detail: `reclassified by ${context.actor} from ${from} to ${category}`, category: category as CategoryId };
  const fullNote = `reclassified from ${from} to ${category}: ${actionNote}${note ? `. ${note}` : ''}`;
  const won = store.db.transaction(() => {
    const moved = store.db
      .prepare(`UPDATE cases SET category = ?, action = ?, autonomy = ?, urgent = ? WHERE id = ? AND status IN ('review', 'awaiting_approval')`)
      .run(category, categoryPolicy.action, categoryPolicy.action === 'reply' ? (categoryPolicy.autonomy ?? null) : null, category === 'urgent_clinical' ? 1 : 0, row.id);
    if (moved.changes === 0) return false;
    return store.transition(row.id, status, context.clock().getTime(), {
      actor: context.actor,
      from: WAITING,
      note: fullNote,
      extraReasons: [reason],
      ...(reply ? { reply: replyFieldsOf(reply) } : {}),
    });
  }).immediate();
  if (!won) throw new ReviewRefusal(`${ref} changed while you were reclassifying it; nothing was changed`);
  markForRefile(context, row, status);
  return store.get(row.id)!;
}

/**
 * A live pass moved the waiting case's message to the review folder. Once a person's decision
 * gives it a status of another folder, the next pass moves it there (refile-decided.ts), so that
 * the review folder holds only what still waits for somebody.
 */
function markForRefile(context: ReviewContext, waiting: CaseRow, status: CaseStatus): void {
  const { folders } = context.policy.data;
  if (waiting.dry_run || !folders.enabled || folderKeyFor(waiting.status) !== 'review') return;
  const key = folderKeyFor(status);
  if (key && key !== 'review') context.store.markForRefile(waiting.id, folders.review);
}

/** Render the reply afresh from what the case log holds (the body's excerpt, already masked). */
function renderForCase(context: ReviewContext, row: CaseRow, recipient: string): RenderedReply {
  const ref = caseReference(row.id);
  const trace = row.trace ? (JSON.parse(row.trace) as { headers?: { inReplyTo?: string | null } }) : {};
  const headers: MessageHeaders = {
    ...emptyHeaders(),
    messageId: row.message_id,
    inReplyTo: trace.headers?.inReplyTo ?? null,
    references: row.thread_key && row.thread_key !== row.message_id ? [row.thread_key] : [],
    date: new Date(row.received_at),
    subject: row.subject ?? '',
    from: row.from_address ? { name: row.from_name ?? '', address: row.from_address } : null,
  };
  const domain = context.mailFrom.split('@')[1] ?? 'localhost';
  try {
    return renderReply(
      {
        headers,
        quoteSource: row.excerpt ?? '',
        classification: {
          category: row.category as CategoryId,
          action: 'reply',
          confidence: row.confidence,
          organisation: row.organisation,
          organisationId: row.organisation_id,
          reasons: [],
          scores: {},
        },
        caseRef: ref,
        to: recipient,
        from: context.mailFrom,
        messageId: replyMessageId(ref, randomBytes(6).toString('hex'), domain),
      },
      context.policy,
      context.templates,
    );
  } catch (error) {
    throw new ReviewRefusal(`${ref}: the reply could not be rendered: ${(error as Error).message}`);
  }
}

function replyFieldsOf(reply: RenderedReply) {
  return { replyToAddress: reply.to, replyMessageId: reply.messageId, replySubject: reply.subject, replyText: reply.text, replyHtml: reply.html };
}
