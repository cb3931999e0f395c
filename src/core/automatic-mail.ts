import type { Reason } from './classification.js';
import type { MessageHeaders } from './message.js';

/**
 * Why a message is automatic mail that must never be answered (RFC 3834 section 2 and common
 * practice), or an empty list. Header-only: the worker runs it before fetching any body.
 */
export function automaticMailReasons(h: MessageHeaders): Reason[] {
  const reasons: Reason[] = [];
  const header = (name: string): string[] => h.headers[name] ?? [];
  const add = (rule: string, detail: string, matched: string, where: Reason['where'] = 'header'): void => {
    reasons.push({ gate: 'automatic', rule, detail, matched: clip(matched), where });
  };

  // RFC 3834 5: any Auto-Submitted value other than "no" marks automatic mail.
  for (const value of header('auto-submitted')) {
    if (value.trim().toLowerCase().split(';')[0]!.trim() !== 'no') {
      add('rfc3834.auto-submitted', 'Auto-Submitted header says the message was sent automatically', `Auto-Submitted: ${value}`);
      break;
    }
  }
  // Exchange sets this on its own automatic mail (out-of-office, recall, delivery notices).
  const suppress = header('x-auto-response-suppress')[0];
  if (suppress !== undefined) add('exchange.x-auto-response-suppress', 'Exchange marks this message as one not to be answered', `X-Auto-Response-Suppress: ${suppress}`);
  // Every Precedence header, by its first word: "bulk (mass mailing)" is bulk, and a message with
  // "normal" and then "bulk" is bulk too.
  const precedence = header('precedence').find((value) => /^\s*(bulk|list|junk|auto_reply)\b/i.test(value));
  if (precedence !== undefined) {
    add('rfc3834.precedence', 'Precedence header marks bulk or list mail', `Precedence: ${precedence}`);
  }
  // Headers autoresponders, bounce generators and mail loops add outside RFC 3834 (X-Autoreply,
  // X-Autorespond, X-Auto-Generated; X-Failed-Recipients on bounces; X-Loop; Feedback-ID on bulk
  // mail). Exchange's X-MS-Exchange-Inbox-Rules-Loop is not one: a person's letter redirected by an
  // inbox rule carries it too, and must still be read.
  for (const name of OTHER_AUTOMATIC_HEADERS) {
    const value = header(name).find((v) => !/^\s*(no|false|0)\s*$/i.test(v));
    if (value !== undefined) {
      add('automatic-header', 'a header that automatic mail carries (an autoresponder, a bounce or a mail loop)', `${name}: ${value}`);
      break;
    }
  }
  // RFC 2369 / 2919 list headers: mailing lists and newsletters.
  for (const name of ['list-id', 'list-unsubscribe', 'list-post', 'list-help']) {
    const value = header(name)[0];
    if (value !== undefined) {
      add('rfc2369.list-header', 'mailing-list header present: a list or newsletter', `${name}: ${value}`);
      break;
    }
  }
  // RFC 5321 4.5.5: the null reverse path is used by delivery status notifications.
  if (h.returnPath === '') add('rfc5321.null-return-path', 'empty Return-Path (<>): a bounce or delivery report', 'Return-Path: <>');
  const contentType = h.contentType.toLowerCase();
  // RFC 6522 multipart/report carries delivery (RFC 3464) and read (RFC 8098) reports.
  if (contentType === 'multipart/report') add('rfc6522.multipart-report', 'a delivery or read report (multipart/report)', `Content-Type: ${h.contentType}`);
  if (contentType === 'message/disposition-notification' || contentType === 'message/delivery-status') {
    add('rfc6522.report-body', 'a delivery or read report', `Content-Type: ${h.contentType}`);
  }
  const from = h.from?.address ?? '';
  const local = from.split('@')[0] ?? '';
  if (/^(mailer-daemon|postmaster)$/i.test(local)) add('rfc3834.daemon-sender', 'sent by a mail system (MAILER-DAEMON / postmaster)', from, 'sender');
  else if (/^(no-?reply|do-?not-?reply|donotreply|no_reply|noreply[._-].*|.*[._-]no-?reply)$/i.test(local)) {
    add('noreply-sender', 'sent from a no-reply address', from, 'sender');
  }
  if (AUTOMATIC_SUBJECT.test(h.subject)) {
    add('subject.automatic-reply', 'the subject is that of an automatic reply or delivery report', h.subject, 'subject');
  }
  return reasons;
}

export const OTHER_AUTOMATIC_HEADERS = ['x-autoreply', 'x-autorespond', 'x-auto-generated', 'x-failed-recipients', 'x-loop', 'feedback-id'] as const;

/**
 * noreply, no-reply, no.reply, no_reply, do-not-reply, donotreply, do_not_reply, alone or as a part
 * ("renal-donotreply", "noreply.pathology"). Such an address is never a reply's recipient
 * (isNoReplyAddress); only the forms above it in automaticMailReasons make a message automatic, so an
 * e-discharge system's "edischarge-donotreply@" letter is still read, and an urgent one reaches a person.
 */
const NO_REPLY_LOCAL_PART = /^(.*[._+-])?(no[._-]?reply|do[._-]?not[._-]?reply)([._+-].*)?$/i;

export function isNoReplyAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return NO_REPLY_LOCAL_PART.test(at > 0 ? address.slice(0, at) : address);
}

/**
 * Subjects of automatic replies and reports, at the start of the subject (a person forwarding a bounce,
 * "FW: Undeliverable: ...", or answering an out-of-office, "RE: Out of Office ...", writes a message of
 * their own, which is read); Lotus Notes writes "AUTO:".
 */
const AUTOMATIC_SUBJECT =
  /^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|auto:|out[- ]of[- ](the[- ])?office|autoreply|undeliverable|delivery status notification|mail delivery (failed|failure|system)|read:|not read:|returned mail|recall:)/i;

function clip(value: string): string {
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}
