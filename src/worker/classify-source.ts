/**
 * One message's bytes to its classification, the way the worker reads a mailbox: the header gates
 * first (automatic mail, not a listed hospital), and the body parsed only when they leave the
 * decision open. A bounce or a patient's e-mail costs its header block, never its attachments
 * (issue 7: "an old or non-hospital message should cost headers, not bodies").
 *
 * classify() gives the same answer on the fully parsed message: its first step is the same gates
 * over the same header parser (test/unit/classify-source.test.ts checks this over every corpus).
 */
import { classify, classifyHeaders } from '../core/classify.js';
import type { Classification } from '../core/classification.js';
import type { MessageHeaders } from '../core/message.js';
import { parseHeaderBlockWithProblems } from '../mail/parse-headers.js';
import { parseMessageSlow, tryParseMessageFast, type ParseMessageOptions } from '../mail/parse-message.js';
import type { Policy } from '../policy/policy.js';

export interface ClassifiedSource {
  headers: MessageHeaders;
  classification: Classification;
  /** False when the header gates decided and the body was never parsed. */
  bodyRead: boolean;
}

export async function classifySource(raw: Buffer, policy: Policy, now: Date, options: ParseMessageOptions = {}): Promise<ClassifiedSource> {
  const headerResult = parseHeaderBlockWithProblems(raw);
  const decided = classifyHeaders(headerResult.headers, policy);
  if (decided) return { headers: headerResult.headers, classification: decided, bodyRead: false };
  // The fast path reuses the header block parsed for the gates; the mailparser path reads it again.
  const message = tryParseMessageFast(raw, options, headerResult) ?? (await parseMessageSlow(raw, options));
  return { headers: message, classification: classify(message, policy, now), bodyRead: true };
}
