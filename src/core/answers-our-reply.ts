import type { MailMessage } from './message.js';

/** The Message-ID our replies carry (reply-message-id.ts): `<pcn-autoreply.PCN-000123.abcdef...@domain>`. */
const OUR_REPLY_ID = /^<pcn-autoreply\.(PCN-\d{6,9})\.[a-p]+@[^>]+>$/i;
/** Our case reference, as every reply states it ("Our reference: PCN-000123"). */
const CASE_REFERENCE = /\bPCN-\d{6,9}\b/;

/**
 * How the message shows it answers one of our automatic replies, or null: it names one in
 * In-Reply-To or References, or quotes or forwards a text with our case reference in it.
 * Answering it with the template again would be a loop (the hospital's reply to our reply got
 * a second reply, one per round), whatever its words ask.
 */
export function answersOurReply(message: Pick<MailMessage, 'inReplyTo' | 'references' | 'quotedText'>): string | null {
  for (const id of [message.inReplyTo, ...message.references]) {
    const match = id ? OUR_REPLY_ID.exec(id.trim()) : null;
    if (match) return `${id!.trim()} (our reply to ${match[1]!.toUpperCase()})`;
  }
  const quoted = quotedCaseReference(message.quotedText);
  return quoted ? `${quoted} in the quoted text` : null;
}

/** Our case reference in a quoted or forwarded text, or null. The worker's parse thread keeps only this of a reply's history (worker-answer.ts). */
export function quotedCaseReference(quotedText: string): string | null {
  return CASE_REFERENCE.exec(quotedText)?.[0] ?? null;
}
