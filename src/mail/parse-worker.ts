/**
 * Worker-thread entry for parse-pool.ts: parses one message at a time and posts the model back.
 * Runs from dist/ as compiled JavaScript.
 *
 * mailparser (and with it about 28 MB of this thread's memory) is loaded on the first message the
 * fast path declines, not at start: in most passes every message takes the fast path.
 */
import { parentPort } from 'node:worker_threads';
import type { MailMessage } from '../core/message.js';
import { tryParseMessageFast, type ParseMessageOptions } from './parse-fast.js';
import { answerForWorker } from './worker-answer.js';

export interface ParseRequest {
  id: number;
  raw: Uint8Array;
  options: ParseMessageOptions;
}

type MailparserPath = typeof import('./parse-message.js');
let mailparserPath: Promise<MailparserPath> | null = null;

async function parse(raw: Buffer, options: ParseMessageOptions): Promise<MailMessage> {
  const fast = tryParseMessageFast(raw, options);
  if (fast) return answerForWorker(raw, fast, options);
  mailparserPath ??= import('./parse-message.js');
  const message = await mailparserPath.then((module) => module.parseMessageSlow(raw, options));
  return answerForWorker(raw, message, options);
}

const port = parentPort;
if (port) {
  // One message at a time, in the order posted: parse-pool.ts blames the oldest unanswered message
  // when this thread dies or hangs, so no other may be half-parsed beside it.
  let previous: Promise<void> = Promise.resolve();
  port.on('message', (request: ParseRequest) => {
    previous = previous.then(() => {
      const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
      // Parsing never rejects; the catch is for a bug, reported as that message's failure.
      return parse(raw, request.options).then(
        (message) => port.postMessage({ id: request.id, message }),
        (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
      );
    });
  });
}
