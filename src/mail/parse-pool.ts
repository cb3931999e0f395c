/**
 * A small worker_threads pool so message bodies are parsed off the main thread (issue 7: two
 * cores, the main thread keeps IMAP and SQLite moving). A thread parses one message at a time, in
 * the order posted, with a few more posted behind it; a thread that dies (out of memory, a native
 * fault, a parse that never ends) fails only the message it was parsing: the pool starts a fresh
 * thread and posts the others to it again.
 *
 * Memory (issue 7: RSS < 150 MB): threads start lazily, on the first message, so a pass with nothing
 * to parse starts no isolate; each thread's young generation is kept small (resourceLimits), which a
 * thread allows and the main thread does not (its heap is sized by node's start-up flags). Parsing
 * stays in the thread, fast path included: measured (docs/benchmark-history.md), parsing the fast-path messages
 * in the main thread grew its heap by about 30 MB, more than the round trip saves. The thread loads
 * mailparser only for a message the fast path declines (parse-worker.ts); this module loads the
 * parser only for the in-thread fallback.
 *
 * Under vitest/tsx this file is TypeScript and there is no compiled worker: it parses in-thread.
 */
import { Worker } from 'node:worker_threads';
import type { MailMessage } from '../core/message.js';
import type { ParseMessageOptions } from './parse-message.js';
import { answerForWorker } from './worker-answer.js';

export interface ParsePool {
  /**
   * Parses one message. The buffer's memory is transferred to the worker when the buffer owns all
   * of it (it is then detached here: do not reuse it); otherwise it is copied.
   */
  parse(raw: Buffer): Promise<MailMessage>;
  /** Stops the threads; messages not yet parsed are rejected. */
  close(): Promise<void>;
}

export interface ParsePoolOptions {
  parse?: ParseMessageOptions;
  /** A thread that has not answered within this time is ended and the message rejected. Default 60 s. */
  taskTimeoutMs?: number;
  /** Heap limit per thread: a hostile message fails alone instead of exhausting the process. */
  maxHeapMb?: number;
  /** Young-generation size per thread (V8 otherwise reserves up to 48 MB of it). Default 6 MB. */
  youngGenerationMb?: number;
}

export class ParseWorkerError extends Error {
  readonly code = 'EPARSEWORKER';
}

interface Task {
  id: number;
  raw: Buffer;
  resolve: (message: MailMessage) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Posted and not yet answered, oldest first: the thread parses them one at a time, in order. */
  tasks: Task[];
  /** Runs while the oldest task is being parsed; restarted at each answer. */
  timer: NodeJS.Timeout | null;
}

type WorkerReply = { id: number; message: MailMessage } | { id: number; error: string };

const workerUrl = new URL('./parse-worker.js', import.meta.url);
/**
 * Messages posted to a thread ahead of its answers, so the thread never waits for this thread's event
 * loop, which records a run of cases without a break and only then reads the answers and posts more.
 * With 4 the parse thread sat idle for 40% of a dry run (issue 7); 16, 32 and 64 measured alike, and
 * 64 took peak RSS 2-4 MB higher. A thread that dies fails only the message it was parsing; the
 * others go to a fresh thread.
 */
const TASKS_IN_FLIGHT_PER_THREAD = 32;

export function createParsePool(size: number, options: ParsePoolOptions = {}): ParsePool {
  if (import.meta.url.endsWith('.ts')) {
    return createInThreadPool(options.parse ?? {});
  }
  return new ThreadPool(Math.max(1, Math.floor(size)), options);
}

function createInThreadPool(parseOptions: ParseMessageOptions): ParsePool {
  let closed = false;
  return {
    parse: async (raw) => {
      if (closed) throw new ParseWorkerError('parse pool is closed');
      const { parseMessage } = await import('./parse-message.js');
      return answerForWorker(raw, await parseMessage(raw, parseOptions), parseOptions);
    },
    close: async () => {
      closed = true;
    },
  };
}

class ThreadPool implements ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private readonly taskTimeoutMs: number;

  constructor(
    private readonly size: number,
    private readonly options: ParsePoolOptions,
  ) {
    this.taskTimeoutMs = options.taskTimeoutMs ?? 60_000;
  }

  parse(raw: Buffer): Promise<MailMessage> {
    if (this.closed) return Promise.reject(new ParseWorkerError('parse pool is closed'));
    return new Promise<MailMessage>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, raw, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new ParseWorkerError('parse pool closed before the message was parsed'));
    await Promise.all(
      this.slots.map(async (slot) => {
        this.failAll(slot, new ParseWorkerError('parse pool closed while the message was being parsed'));
        await slot.worker.terminate();
      }),
    );
  }

  private startSlot(): Slot {
    const worker = new Worker(workerUrl, {
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.maxHeapMb ?? 512,
        maxYoungGenerationSizeMb: this.options.youngGenerationMb ?? 6,
      },
    });
    const slot: Slot = { worker, tasks: [], timer: null };
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (error) => this.onCrash(slot, `parse worker thread failed: ${error.message}`));
    worker.on('exit', (code) => this.onCrash(slot, `parse worker thread exited with code ${code}`));
    // An idle pool must not keep the process alive.
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    // Lazily: one more thread only while every running one is busy and a message waits.
    while (!this.closed && this.slots.length < this.size && this.queue.length > 0 && this.slots.every((slot) => slot.tasks.length > 0)) {
      this.slots.push(this.startSlot());
    }
    for (const slot of this.slots) {
      while (slot.tasks.length < TASKS_IN_FLIGHT_PER_THREAD) {
        const task = this.queue.shift();
        if (!task) return;
        if (slot.tasks.length === 0) {
          slot.worker.ref();
          this.startTimer(slot);
        }
        slot.tasks.push(task);
        const payload = ownsWholeBuffer(task.raw) ? task.raw : Buffer.from(task.raw);
        const transfer = [payload.buffer as ArrayBuffer];
        slot.worker.postMessage({ id: task.id, raw: payload, options: this.options.parse ?? {} }, transfer);
      }
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const index = slot.tasks.findIndex((task) => task.id === reply.id);
    if (index === -1) return;
    const [task] = slot.tasks.splice(index, 1) as [Task];
    this.settled(slot);
    if ('message' in reply) task.resolve(reply.message);
    else task.reject(new ParseWorkerError(`parse failed: ${reply.error}`));
    this.dispatch();
  }

  /**
   * A thread died or hung: the message it was parsing (the oldest it holds; it parses in order) fails,
   * the ones queued behind it go to a fresh thread, and the pass carries on.
   */
  private onCrash(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // already replaced (error is followed by exit)
    const [culprit, ...waiting] = slot.tasks.splice(0);
    this.settled(slot);
    culprit?.reject(new ParseWorkerError(reason));
    if (this.closed) {
      for (const task of waiting) task.reject(new ParseWorkerError('parse pool closed before the message was parsed'));
      return;
    }
    this.queue.unshift(...waiting);
    this.slots.splice(index, 1);
    slot.worker.removeAllListeners('message');
    void slot.worker.terminate().catch(() => undefined);
    // dispatch() starts a fresh thread if a message is waiting.
    this.dispatch();
  }

  private failAll(slot: Slot, error: Error): void {
    const tasks = slot.tasks.splice(0);
    this.settled(slot);
    for (const task of tasks) task.reject(error);
  }

  private startTimer(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      this.onCrash(slot, `parse worker did not answer within ${this.taskTimeoutMs} ms`);
    }, this.taskTimeoutMs);
  }

  /** After an answer: the next message's time starts now; an idle thread must not keep the process alive. */
  private settled(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    if (slot.tasks.length > 0) this.startTimer(slot);
    else slot.worker.unref();
  }
}

/** Node's small Buffers share one pooled ArrayBuffer: transferring that would detach others. */
function ownsWholeBuffer(raw: Buffer): boolean {
  return raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer;
}
