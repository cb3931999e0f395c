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
  const precedence = header('precedence')[0];
  if (precedence !== undefined && /^(bulk|list|junk)$/i.test(precedence.trim())) {
    add('rfc3834.precedence', 'Precedence header marks bulk or list mail', `Precedence: ${precedence}`);
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
  if (/^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office|autoreply|undeliverable|delivery status notification|mail delivery (failed|failure|system)|read:|not read:|returned mail|recall:)/i.test(h.subject)) {
    add('subject.automatic-reply', 'the subject is that of an automatic reply or delivery report', h.subject, 'subject');
  }
  return reasons;
}

function clip(value: string): string {
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}
