/**
 * Worker-thread entry for parse-pool.ts: parses one message at a time and posts the model back.
 * Runs from dist/ as compiled JavaScript.
 */
import { parentPort } from 'node:worker_threads';
import { parseMessage, type ParseMessageOptions } from './parse-message.js';

export interface ParseRequest {
  id: number;
  raw: Uint8Array;
  options: ParseMessageOptions;
}

const port = parentPort;
if (port) {
  port.on('message', (request: ParseRequest) => {
    const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
    // parseMessage never rejects; the catch is for a bug, reported as that message's failure.
    parseMessage(raw, request.options).then(
      (message) => port.postMessage({ id: request.id, message }),
      (error: unknown) => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
