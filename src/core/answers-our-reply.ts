import type { MailMessage } from './message.js';

/** The Message-ID our replies carry (reply-message-id.ts): `<pcn-autoreply.PCN-000123.abcdef...@domain>`, anywhere in a header's value. */
const OUR_REPLY_ID = /<\s*pcn-autoreply\.(PCN-\d{6,9})\.[a-p]+@[^>\s]+\s*>/i;
/** Our case reference, as every reply states it ("Our reference: PCN-000123"), also wrapped after its hyphen. */
const CASE_REFERENCE = /\bPCN-[\s>]*(\d{6,9})\b/i;

/**
 * How the message shows it answers one of our automatic replies, or null: it names one in
 * In-Reply-To or References, or quotes or forwards a text with our case reference in it.
 * Answering it with the template again would be a loop (the hospital's reply to our reply got
 * a second reply, one per round), whatever its words ask.
 */
export function answersOurReply(message: Pick<MailMessage, 'inReplyTo' | 'references' | 'quotedText' | 'footerText'> & { headers?: Record<string, string[]> }): string | null {
  // In-Reply-To may name several messages ("<theirs> <ours>"): every value is searched, not only the first id.
  for (const id of [message.inReplyTo, ...message.references, ...(message.headers?.['in-reply-to'] ?? [])]) {
    const match = id ? OUR_REPLY_ID.exec(id) : null;
    if (match) return `${match[0].replace(/\s+/g, '')} (our reply to ${match[1]!.toUpperCase()})`;
  }
  const quoted = quotedCaseReference(message.quotedText);
  if (quoted) return `${quoted} in the quoted text`;
  // Our reply pasted under a separator the splitter does not know lands in the footer.
  const footer = quotedCaseReference(message.footerText);
  return footer ? `${footer} below the message` : null;
}

/** Our case reference in a quoted or forwarded text, or null. The worker's parse thread keeps only this of a reply's history and footer (worker-answer.ts). */
export function quotedCaseReference(text: string): string | null {
  const match = CASE_REFERENCE.exec(text);
  return match ? `PCN-${match[1]}` : null;
}
