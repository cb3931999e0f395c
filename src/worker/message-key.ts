import { createHash } from 'node:crypto';
import type { MessageHeaders } from '../core/message.js';
import type { HeaderItem } from '../mail/mail-source.js';

/**
 * Header fields each server on the way adds or rewrites: a message delivered twice differs in them
 * and in nothing else (found by an adversarial review: the same message twice, without a
 * Message-ID and with one more Received line, got two replies).
 */
const TRACE_FIELD =
  /^(received|return-path|delivered-to|x-original-to|envelope-to|x-envelope-\S*|x-ms-exchange-\S*|arc-\S*|authentication-results|received-spf|dkim-signature|x-microsoft-antispam\S*|x-forefront-\S*|x-originating-ip|x-ms-office365-\S*|x-ms-traffictypediagnostic|x-ms-publictraffictype|x-eopattributedmessage|x-eoptenantattributedmessage|x-spam\S*|x-virus\S*|x-mimecast-\S*|x-proofpoint-\S*)\s*:/i;

/**
 * What identifies a message in the case log: its Message-ID, or, without one, a hash of its header
 * block less the trace fields servers add on the way, and of its body's length.
 */
export function messageKey(headers: MessageHeaders, item: Pick<HeaderItem, 'header' | 'size'>): string {
  if (headers.messageId) return headers.messageId;
  // The body's length too: two different messages with the same sender, subject and no Date (a
  // system that sends "Pathology result" again and again) must not share a key, or the second is
  // lost as "already seen" (found by a review of this change); a copy's body is the same.
  const bodyBytes = Math.max(0, item.size - item.header.length);
  return `sha256:${createHash('sha256').update(withoutTraceFields(item.header)).update(`\n${bodyBytes}`).digest('hex')}`;
}

/** The key a message without a Message-ID had before 2026-11-28 (its whole header block): a log from then still knows it. */
export function earlierMessageKey(item: Pick<HeaderItem, 'header'>): string {
  return `sha256:${createHash('sha256').update(item.header).digest('hex')}`;
}

function withoutTraceFields(header: Buffer): string {
  const fields: string[] = [];
  for (const line of header.toString('latin1').split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else if (line.length > 0) fields.push(line);
  }
  return fields.filter((field) => !TRACE_FIELD.test(field)).join('\n');
}
