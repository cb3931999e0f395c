/**
 * A parsed message as the worker's parse thread hands it back: its MIME-shape problems added when
 * asked (mime-shape.ts), and the text the worker never reads left out when asked (issue 7: a
 * hospital message's quoted history and trust disclaimer are most of its text, and every string in
 * the answer is copied between threads and then collected on the main thread).
 */
import { quotedCaseReference } from '../core/answers-our-reply.js';
import { isForward } from '../core/forward.js';
import type { MailMessage } from '../core/message.js';
import { withMimeShapeProblems } from './mime-shape.js';
import type { ParseMessageOptions } from './parse-fast.js';

export function answerForWorker(raw: Buffer, message: MailMessage, options: ParseMessageOptions): MailMessage {
  withMimeShapeProblems(raw, message, options);
  const slim = options.onlyWhatTheWorkerReads;
  if (slim) {
    // A forward's forwarded message is read for urgency (src/core/classify.ts): kept. Of a reply's
    // history only our case reference is kept, which the loop guard looks for (answers-our-reply.ts).
    if (!isForward(message)) message.quotedText = quotedCaseReference(message.quotedText) ?? '';
    message.footerText = quotedCaseReference(message.footerText) ?? '';
    if (!slim.keepWholeText) message.text = '';
  }
  return message;
}
