import { createHash, randomUUID } from 'node:crypto';
import { replyMessageId } from '../core/reply-message-id.js';
import type { Logger } from 'pino';
import type { Classification, Reason } from '../core/classification.js';
import { classify, classifyHeaders } from '../core/classify.js';
import { answersOurReply } from '../core/answers-our-reply.js';
import { isNoReplyAddress } from '../core/automatic-mail.js';
import { highImportanceMark } from '../core/importance.js';
import { decide, onlyCopiedIn, replyRecipient, tooOldReason, type Decision } from '../core/decide.js';
import { folderKeyFor, FINAL_STATUSES, WAITING_FOR_PERSON, type CaseStatus } from '../core/case-status.js';
import { whyToPerson } from '../core/why-to-person.js';
import type { MailMessage, MessageHeaders } from '../core/message.js';
import { maskNhsNumbers, maskReasons } from '../core/nhs-number.js';
import { maskedExcerpt, requestQuote } from '../core/excerpt.js';
import { maskPatientIdentifiers } from '../core/patient-identifiers.js';
import { renderReply, type RenderedReply } from '../core/render-reply.js';
import { isHospitalAddress, matchHospital } from '../core/sender.js';
import type { HeaderItem, MailSource } from '../mail/mail-source.js';
import { parseHeaderBlock } from '../mail/parse-headers.js';
import { SendError, type ReplySender } from '../mail/reply-sender.js';
import type { Policy } from '../policy/policy.js';
import type { CompiledTemplates } from '../reply/compile-templates.js';
import { caseReference, type CaseRow, type CaseStore, type NewCase, type ReplyFields } from '../store/case-store.js';
import { syncCommittedWrites, syncCommittedWritesAsync } from '../store/open-database.js';
import { emptyCounts, type PassCounts } from '../store/pass-log.js';
import { RecipientReplyCounts } from './recipient-reply-counts.js';
import { crashPoint } from './crash-points.js';
import { earlierMessageKey, messageKey } from './message-key.js';

export interface PassOptions {
  dryRun: boolean;
  /** The address replies come from; mail from it is never treated as a request. */
  mailFrom: string;
  killSwitch: () => { active: boolean; why: string };
  batchSize: number;
  smtpMaxAttempts: number;
  smtpRetryDelayMs: number;
  /** Who the case events name, e.g. `worker`. */
  actor: string;
}

export interface PassDeps {
  store: CaseStore;
  source: MailSource;
  /** Null in a dry run: nothing can be sent. */
  sender: ReplySender | null;
  policy: Policy;
  templates: CompiledTemplates;
  /** Parses a fetched source; the worker's parses also report an unusual MIME shape (parse-pool.ts, checkMimeShape). */
  parse: (raw: Buffer) => Promise<MailMessage>;
  clock: () => Date;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  /** Called after each message: done so far, total this pass. */
  progress?: (done: number, total: number) => void;
  /** Checked between messages: a stop request finishes the message in hand, then ends the pass. */
  shouldStop?: () => boolean;
  /** Called between batches so a long pass keeps its lease. */
  heartbeat?: () => void;
}

export interface PassResult {
  counts: PassCounts;
  idle: boolean;
  stoppedEarly: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Enough of the request's sentence for the reply's quote, which cuts it at a word under 300 characters. */
const QUOTE_SOURCE_CHARS = 400;
/**
 * A group of replies is handed to SMTP once fewer than this many are in flight (the pooled
 * transport's 4 connections then always have the next one waiting). Decisions and records stay
 * sequential; only the sends overlap, and all of a batch's sends finish and are recorded before
 * its moves and cursor.
 */
export const SENDS_IN_FLIGHT = 4;
/**
 * Decided replies are handed to SMTP in groups: the cases, their `sending` and the replies accepted
 * meanwhile share one commit (each reply used to take three, at 0.5-1 ms of a live pass's main
 * thread each). A crash leaves every `sending` case to review, never out twice: usually at most
 * SENDS_IN_FLIGHT - 1 + REPLIES_PER_COMMIT of them (4 before). Measured (docs/benchmark-history.md): groups of
 * 8, or 8 in flight, were a few percent faster and left more cases to review in the crash test.
 */
export const REPLIES_PER_COMMIT = 4;
/**
 * How long the pass waits for sends to settle with the batch's writes still open (the case log's
 * write lock held). Sends settle in milliseconds; a slow SMTP server must not keep `review` or `purge`
 * waiting on the lock (busy_timeout is 5 s), so past this the writes are committed first.
 */
const SEND_WAIT_WITH_WRITES_OPEN_MS = 200;
/**
 * Fetched message sources waiting to be parsed, at most (one larger message may exceed it alone).
 * 4 MB: 8 MB cost about 5 MB more peak RSS for no measurable speed (docs/benchmark-history.md).
 */
const SOURCE_BYTES_IN_FLIGHT = 4 * 1024 * 1024;

interface ParsedEntry {
  entry: NeedBody;
  message: MailMessage | null;
  error: string | null;
  raw?: Buffer;
}

interface PrefetchedItem {
  item: HeaderItem;
  headers: MessageHeaders;
  key: string;
}

interface PrefetchedChunk {
  uids: Set<number>;
  bytes: number;
  /** True while its bytes count against SOURCE_BYTES_IN_FLIGHT. */
  held: boolean;
  sources: Promise<Map<number, { source: Buffer; truncated: boolean }>>;
}

interface Prefetched {
  items: PrefetchedItem[];
  chunks: PrefetchedChunk[];
}

interface NeedBody {
  item: HeaderItem;
  headers: MessageHeaders;
  key: string;
  receivedAt: Date;
  /** Another copy of this message is ahead of it in the batch: look the key up again when its turn comes. */
  copyInBatch: boolean;
}

/** Consecutive groups whose sources (each capped at maxBytes) add up to at most limit bytes. */
function groupByBytes(items: HeaderItem[], maxBytes: number, limit: number): HeaderItem[][] {
  const groups: HeaderItem[][] = [];
  let current: HeaderItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Math.min(item.size, maxBytes);
    if (current.length > 0 && bytes + size > limit) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * One pass over the shared mailbox: fetch, parse, classify, decide, record, reply, file.
 * Every step that has an effect outside the database is recorded before and after, so a crash at
 * any instant leaves each message either untouched or in a known state, and never replied twice.
 */
export async function runPass(deps: PassDeps, options: PassOptions): Promise<PassResult> {
  return new Pass(deps, options).run();
}

class Pass {
  private readonly counts = emptyCounts();
  private repliesThisPass = 0;
  private readonly recipientReplies: RecipientReplyCounts;
  /** Replies handed to SMTP and not yet settled (at most SENDS_IN_FLIGHT). */
  private readonly sendsInFlight = new Set<Promise<void>>();
  private sendFailure: unknown = null;
  /** Replies decided since the last commit: marked `sending` in the next commit and handed to SMTP after it. */
  private readonly repliesToSend: Array<{ id: number; reply: RenderedReply; uid: number }> = [];
  /**
   * Replies the SMTP server accepted, not yet recorded as `replied`: written with the next commit,
   * and always before the batch's moves. A crash first leaves them `sending`, which the next pass
   * puts in review ("delivery not confirmed"): never sent twice.
   */
  private readonly acceptedReplies: Array<{ id: number; response: string; at: number }> = [];
  private readonly moves = new Map<string, number[]>();
  /** Keys given to messages that reuse a Message-ID already logged for another message -> that case's id. */
  private readonly reusedMessageIds = new Map<string, number>();
  /** True while the case rows of a batch are being written in one SQLite transaction. */
  private batchWritesOpen = false;
  private readonly sleep: (ms: number) => Promise<void>;
  /** IMAP steps run one after another (one command at a time per connection). */
  private imapChain: Promise<unknown> = Promise.resolve();
  /** Bytes of fetched sources not yet parsed: the prefetch waits while this is over the limit. */
  private sourceBytesInFlight = 0;
  private readonly budgetWaiters: Array<() => void> = [];
  private prefetchStopped = false;

  /** The shared mailbox's addresses (MAIL_FROM and the policy's identity.mailbox), lower-case. */
  private readonly ownAddresses: string[];

  constructor(
    private readonly deps: PassDeps,
    private readonly options: PassOptions,
  ) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.recipientReplies = new RecipientReplyCounts(deps.store, options.dryRun);
    this.ownAddresses = [options.mailFrom.toLowerCase(), deps.policy.data.identity.mailbox.toLowerCase()];
  }

  async run(): Promise<PassResult> {
    const { store, source, logger } = this.deps;
    const recovered = this.options.dryRun ? [] : await this.recoverInterruptedSends();
    const state = await source.open();
    // Recovered cases whose message is still where we last saw it are filed now: the cursor may
    // already be past them (a send refused for now in an earlier pass).
    for (const row of recovered) {
      if (row.mailbox === source.description && row.uid_validity === state.uidValidity && row.uid !== null) this.queueMove(row.status, row.uid);
    }
    await this.flushMoves();
    const cursorKey = this.options.dryRun ? `${source.description}#dry-run` : source.description;
    const cursor = store.getCursor(cursorKey);
    let lastUid = cursor?.lastUid ?? 0;
    if (cursor && cursor.uidValidity !== state.uidValidity) {
      // RFC 3501 2.3.1.1: a new UIDVALIDITY means old UIDs mean nothing. Rescan; Message-IDs stop repeats.
      logger.warn({ mailbox: source.description, was: cursor.uidValidity, now: state.uidValidity }, 'UIDVALIDITY changed: rescanning the mailbox');
      lastUid = 0;
    }
    if (cursor && cursor.uidValidity === state.uidValidity && state.highestUid <= lastUid) {
      return { counts: this.counts, idle: true, stoppedEarly: false };
    }
    // New mail: the source may open what its reads need (a second connection) while it lists the UIDs.
    source.prepareReads?.();
    const uids = await source.listUids(lastUid);
    let done = 0;
    const batches: number[][] = [];
    for (let i = 0; i < uids.length; i += this.options.batchSize) batches.push(uids.slice(i, i + this.options.batchSize));
    // Batch n+1's headers and sources are fetched while batch n is parsed and recorded (at most one
    // batch ahead, sources bounded by bytes). Moves and the cursor still follow each batch's records.
    let next: Promise<Prefetched> | null = batches.length > 0 ? this.prefetch(batches[0]!, Promise.resolve({ items: [], chunks: [] })) : null;
    try {
      for (let i = 0; i < batches.length; i += 1) {
        const batch = batches[i]!;
        const current = next!;
        next = i + 1 < batches.length ? this.prefetch(batches[i + 1]!, current) : null;
        const stopped = await this.processBatch(current, state.uidValidity);
        // Every reply of the batch settled (replied, refused, unconfirmed) before it is filed.
        await this.drainSends();
        crashPoint('before-move');
        await this.flushMoves();
        crashPoint('before-cursor');
        const processedUpTo = stopped ? stopped.lastDone : batch[batch.length - 1]!;
        if (processedUpTo > lastUid) {
          store.setCursor(cursorKey, state.uidValidity, processedUpTo, this.nowMs());
          lastUid = processedUpTo;
        }
        done += stopped ? stopped.count : batch.length;
        this.deps.progress?.(done, uids.length);
        this.deps.heartbeat?.();
        if (stopped) return { counts: this.counts, idle: false, stoppedEarly: true };
      }
    } finally {
      // Nothing may still be talking to the server when the caller logs out.
      this.prefetchStopped = true;
      this.wakeBudgetWaiters();
      await this.imapChain.catch(() => undefined);
      await Promise.allSettled([...this.sendsInFlight]);
      // A pass that fails still records what the server accepted (else those cases would go to review).
      const accepted = this.acceptedReplies.map(({ id }) => caseReference(id));
      try {
        this.recordAcceptedReplies();
      } catch (error) {
        this.deps.logger.error({ err: error, cases: accepted }, 'replies the SMTP server accepted could not be recorded as replied; the next pass puts them in review');
      }
      if (next) await next.then((p) => Promise.allSettled(p.chunks.map((c) => c.sources)), () => undefined);
    }
    if (uids.length === 0) store.setCursor(cursorKey, state.uidValidity, Math.max(lastUid, 0), this.nowMs());
    return { counts: this.counts, idle: uids.length === 0, stoppedEarly: false };
  }

  /** Returns where it stopped when asked to stop mid-batch. */
  private async processBatch(prefetched: Promise<Prefetched>, uidValidity: string): Promise<{ lastDone: number; count: number } | null> {
    let fetched: Prefetched | null = null;
    try {
      fetched = await prefetched;
      // The next batch's prefetch needs a few promise steps to put its FETCH on the wire, and a batch
      // the header gates settle is recorded without a break: yield once, so the server reads the
      // next headers while this thread records (without it, the two took turns; issue 7).
      await new Promise<void>((resolve) => setImmediate(resolve));
      return await this.processBatchWrites(fetched, uidValidity);
    } finally {
      this.commitBatchWrites();
      // Chunks of this batch that were fetched but not parsed (skipped, or a stop) give their bytes back.
      if (fetched) for (const chunk of fetched.chunks) this.releaseChunk(chunk);
    }
  }

  private imap<T>(step: () => Promise<T>): Promise<T> {
    const run = this.imapChain.then(() => {
      if (this.prefetchStopped) throw new Error('the pass ended before this IMAP step');
      return step();
    });
    this.imapChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Fetches one batch's headers, then the sources of the messages the header gates would not
   * settle, in chunks of a quarter of SOURCE_BYTES_IN_FLIGHT, each chunk waiting until earlier ones
   * are recorded (so a few chunks are fetched, parsed and recorded at once). Starts only after the previous batch's prefetch is complete,
   * so the batch being processed never waits for budget held by the one after it.
   */
  private prefetch(batch: number[], previous: Promise<Prefetched>): Promise<Prefetched> {
    const { source, policy } = this.deps;
    const maxBytes = policy.data.limits.maxMessageBytes;
    const result = (async (): Promise<Prefetched> => {
      await previous.then((p) => Promise.allSettled(p.chunks.map((c) => c.sources)), () => undefined);
      const headerItems = await this.imap(() => source.headers(batch));
      const items: PrefetchedItem[] = [];
      const wanted: HeaderItem[] = [];
      for (const item of headerItems) {
        const headers = parseHeaderBlock(item.header);
        const key = messageKey(headers, item);
        items.push({ item, headers, key });
        // A read-only guess at what processBatchWrites will need; it fetches anything missed itself.
        // The header gates go first: a message they settle needs no body whatever the case log holds,
        // so an old inbox costs no lookup here (processBatchWrites does its own).
        if (this.settledByHeaders(headers, receivedTime(headers, item, this.now())) && !looksLikeBounce(headers)) continue;
        const existing = this.deps.store.findByMessageKey(key);
        if (existing && !(existing.dry_run && !this.options.dryRun)) continue;
        wanted.push(item);
      }
      const chunks: PrefetchedChunk[] = [];
      let chain: Promise<unknown> = Promise.resolve();
      for (const group of groupByBytes(wanted, maxBytes, SOURCE_BYTES_IN_FLIGHT / 4)) {
        const bytes = group.reduce((sum, item) => sum + Math.min(item.size, maxBytes), 0);
        const chunk: PrefetchedChunk = { uids: new Set(group.map((item) => item.uid)), bytes, held: false, sources: Promise.resolve(new Map()) };
        const after = chain;
        chunk.sources = (async () => {
          await after.catch(() => undefined);
          await this.acquireBudget(bytes);
          chunk.held = true;
          return this.imap(() => source.sources(group.map((item) => item.uid), maxBytes));
        })();
        chunk.sources.catch(() => undefined);
        chain = chunk.sources;
        chunks.push(chunk);
      }
      return { items, chunks };
    })();
    result.catch(() => undefined); // observed by processBatch; never an unhandled rejection meanwhile
    return result;
  }

  private acquireBudget(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      const attempt = (): void => {
        if (this.prefetchStopped || this.sourceBytesInFlight === 0 || this.sourceBytesInFlight + bytes <= SOURCE_BYTES_IN_FLIGHT) {
          this.sourceBytesInFlight += bytes;
          resolve();
        } else {
          this.budgetWaiters.push(attempt);
        }
      };
      attempt();
    });
  }

  private releaseChunk(chunk: PrefetchedChunk): void {
    if (!chunk.held) return;
    chunk.held = false;
    this.sourceBytesInFlight -= chunk.bytes;
    this.wakeBudgetWaiters();
  }

  private wakeBudgetWaiters(): void {
    for (const waiter of this.budgetWaiters.splice(0)) waiter();
  }

  /**
   * The case rows of a batch go into one SQLite transaction (one commit per batch instead of one per
   * message). It is committed before every SMTP send (so `decided` and `sending` are on disk before the
   * reply leaves) and before each wait on IMAP. A crash loses only uncommitted rows of messages that
   * were neither moved nor passed by the cursor, so the next pass meets them again.
   */
  private beginBatchWrites(): void {
    if (this.batchWritesOpen) return;
    this.deps.store.db.exec('BEGIN');
    this.batchWritesOpen = true;
  }

  private commitBatchWrites(): void {
    if (!this.batchWritesOpen) return;
    let marked: Array<{ id: number; reply: RenderedReply; uid: number }> = [];
    try {
      this.recordAcceptedReplies();
      if (this.repliesToSend.length > 0) {
        crashPoint('after-record');
        marked = this.markRepliesSending();
      }
    } finally {
      this.batchWritesOpen = false;
      this.deps.store.db.exec('COMMIT');
    }
    // Only with `sending` on disk (synced: a power cut must not lose it either) may SMTP see them; the
    // pass goes on meanwhile. If the flush fails they are never sent: the next pass puts them in review.
    if (marked.length === 0) return;
    const synced = syncCommittedWritesAsync(this.deps.store.db);
    for (const { id, reply, uid } of marked) this.handOff(synced, id, reply, uid);
  }

  private markRepliesSending(): Array<{ id: number; reply: RenderedReply; uid: number }> {
    const marked = [];
    for (const queued of this.repliesToSend.splice(0)) {
      if (this.markSending(queued.id)) {
        marked.push(queued);
        continue;
      }
      this.repliesThisPass--;
      const status = this.deps.store.get(queued.id)?.status ?? 'review';
      this.count(status);
      this.queueMove(status, queued.uid);
    }
    return marked;
  }

  /** Accepted replies become `replied`, in the open batch transaction or else in one of their own. */
  private recordAcceptedReplies(): void {
    if (this.acceptedReplies.length === 0) return;
    const { store } = this.deps;
    const accepted = this.acceptedReplies.splice(0);
    const write = (): void => {
      for (const { id, response, at } of accepted) {
        store.transition(id, 'replied', at, { actor: this.options.actor, from: ['sending'], smtpResponse: response, repliedAt: at, note: null });
      }
    };
    if (this.batchWritesOpen) write();
    else store.db.transaction(write)();
  }

  private async processBatchWrites(fetched: Prefetched, uidValidity: string): Promise<{ lastDone: number; count: number } | null> {
    const { source, policy } = this.deps;
    this.beginBatchWrites();
    const needBody: NeedBody[] = [];
    let count = 0;
    let lastDone = 0;
    // The kill switch as the header-only rows record it in their trace: read once for the batch (a
    // stat of the stop file per message cost more than the rest of such a row). These rows are
    // committed together below and never lead to a reply; every reply decision still reads it.
    let killSwitchActive: boolean | undefined;
    const needBodyKeys = new Set<string>();
    for (const { item, headers, key: messageId } of fetched.items) {
      if (this.deps.shouldStop?.()) return { lastDone, count };
      const receivedAt = receivedTime(headers, item, this.now());
      this.counts.fetched++;
      const key = this.unhandledKey(messageId, item, uidValidity, headers, receivedAt);
      if (key === null) {
        count++;
        lastDone = item.uid;
        continue;
      }
      const early = this.headerOnlyClassification(headers, receivedAt);
      if (early && !looksLikeBounce(headers)) {
        killSwitchActive ??= this.options.killSwitch().active;
        this.recordWithoutBody(item, uidValidity, key, headers, receivedAt, early, killSwitchActive);
      } else {
        needBody.push({ item, headers, key, receivedAt, copyInBatch: needBodyKeys.has(key) });
        needBodyKeys.add(key);
        continue;
      }
      count++;
      lastDone = item.uid;
    }
    this.commitBatchWrites();
    if (needBody.length === 0) return null;
    // In uid order, a run of entries per prefetched chunk. Every run is parsed as soon as its sources
    // arrive, so the parse thread works on the next run while this thread records the one before;
    // a chunk's bytes count against the budget until its run is recorded.
    const maxBytes = policy.data.limits.maxMessageBytes;
    const runs: Array<{ chunk: PrefetchedChunk | null; parsed: Promise<ParsedEntry[]> }> = [];
    let start = 0;
    while (start < needBody.length) {
      const chunk = fetched.chunks.find((c) => c.uids.has(needBody[start]!.item.uid)) ?? null;
      let end = start + 1;
      while (end < needBody.length && (fetched.chunks.find((c) => c.uids.has(needBody[end]!.item.uid)) ?? null) === chunk) end++;
      const group = needBody.slice(start, end);
      start = end;
      const parsed = (async () => {
        const sources = chunk ? await chunk.sources : await this.imap(() => source.sources(group.map((entry) => entry.item.uid), maxBytes));
        return Promise.all(group.map((entry) => this.parseEntry(entry, sources.get(entry.item.uid))));
      })();
      parsed.catch(() => undefined); // awaited in order below; never an unhandled rejection meanwhile
      runs.push({ chunk, parsed });
    }
    for (const run of runs) {
      this.commitBatchWrites();
      const parsed = await run.parsed;
      this.beginBatchWrites();
      try {
        for (const { entry, message, error, raw } of parsed) {
          if (this.deps.shouldStop?.() && count > 0) return { lastDone, count };
          // Two copies of one message in a batch (a person copied it, or a system sent it twice): the
          // first was recorded since the batch was read, and the second is handled as seen, not
          // inserted again (which failed the pass, every pass, on the log's unique key).
          const key = entry.copyInBatch ? this.unhandledKey(entry.key, entry.item, uidValidity, entry.headers, entry.receivedAt) : entry.key;
          if (key === null) {
            count++;
            lastDone = entry.item.uid;
            continue;
          }
          await this.handleFullMessage(entry.item, uidValidity, key, entry.headers, entry.receivedAt, message, error, raw);
          count++;
          lastDone = entry.item.uid;
        }
      } finally {
        if (run.chunk) this.releaseChunk(run.chunk);
      }
    }
    return null;
  }

  private async parseEntry(entry: NeedBody, fetched: { source: Buffer; truncated: boolean } | undefined): Promise<ParsedEntry> {
    const { policy } = this.deps;
    if (!fetched) return { entry, message: null, error: 'the server returned no content for this message' };
    // The parser may take the buffer's memory (transferred to a thread): keep a copy of bounces to read.
    const raw = looksLikeBounce(entry.headers) ? Buffer.from(fetched.source) : undefined;
    try {
      const message = await this.deps.parse(fetched.source);
      if (fetched.truncated) message.parseProblems.push(`message larger than ${policy.data.limits.maxMessageBytes} bytes: only its beginning was read`);
      return { entry, message, error: null, raw };
    } catch (error) {
      return { entry, message: null, error: (error as Error).message };
    }
  }

  /**
   * The gates that need no body: our own mail, too old, automatic, not a listed hospital.
   * Old mail is checked first: a first run on a years-old inbox must cost headers only and move nothing.
   */
  private headerOnlyClassification(headers: MessageHeaders, receivedAt: Date): { classification: Classification; status: CaseStatus; extra: Reason[] } | null {
    const { policy } = this.deps;
    const from = headers.from?.address ?? '';
    if (this.isOwnAddress(from)) {
      const reason: Reason = { gate: 'sender', rule: 'sender.own-address', detail: 'sent from our own address: never treated as a request', matched: from, where: 'sender' };
      return { classification: syntheticClassification('auto_generated', 'ignore', reason, headers, policy), status: 'ignored', extra: [] };
    }
    const old = tooOldReason(receivedAt, policy, this.now());
    if (old) {
      const byHeaders = classifyHeaders(headers, policy);
      const classification = byHeaders ?? syntheticClassification('unclear', 'review', { gate: 'threshold', rule: 'not-read', detail: 'too old: the body was not read' }, headers, policy);
      return { classification, status: 'too_old', extra: [old] };
    }
    const byHeaders = classifyHeaders(headers, policy);
    if (!byHeaders) return null;
    return { classification: byHeaders, status: byHeaders.action === 'ignore' ? 'ignored' : byHeaders.action === 'file' ? 'filed' : 'review', extra: [] };
  }

  /** Whether headerOnlyClassification() would settle the message, without building its classification. */
  private settledByHeaders(headers: MessageHeaders, receivedAt: Date): boolean {
    const { policy } = this.deps;
    return this.isOwnAddress(headers.from?.address ?? '') || tooOldReason(receivedAt, policy, this.now()) !== null || classifyHeaders(headers, policy) !== null;
  }

  private isOwnAddress(from: string): boolean {
    return from !== '' && this.ownAddresses.includes(from);
  }

  private recordWithoutBody(
    item: HeaderItem,
    uidValidity: string,
    key: string,
    headers: MessageHeaders,
    receivedAt: Date,
    early: { classification: Classification; status: CaseStatus; extra: Reason[] },
    killSwitchActive: boolean,
  ): void {
    const id = this.insertCase(item, uidValidity, key, headers, receivedAt, early.classification, early.status, [...early.classification.reasons, ...early.extra], '', null, null, [], killSwitchActive);
    this.count(early.status);
    this.queueMove(early.status, item.uid);
    void id;
  }

  private async handleFullMessage(
    item: HeaderItem,
    uidValidity: string,
    key: string,
    headers: MessageHeaders,
    receivedAt: Date,
    message: MailMessage | null,
    error: string | null,
    raw: Buffer | undefined,
  ): Promise<void> {
    const { policy, logger } = this.deps;
    if (!message) {
      const reason: Reason = { gate: 'parse', rule: 'parse.failed', detail: `the message could not be read: ${error}` };
      this.insertCase(item, uidValidity, key, headers, receivedAt, syntheticClassification('unclear', 'review', reason, headers, policy), 'review', [reason], '', null);
      this.counts.errors++;
      this.count('review');
      this.queueMove('review', item.uid);
      return;
    }
    let classification: Classification;
    try {
      classification = classify(message, policy, this.now());
    } catch (classifyError) {
      const reason: Reason = { gate: 'parse', rule: 'classify.failed', detail: `the message could not be classified: ${(classifyError as Error).message}` };
      logger.error({ uid: item.uid, err: classifyError }, 'classification failed; the message goes to review');
      classification = syntheticClassification('unclear', 'review', reason, headers, policy);
    }
    if (message.parseProblems.length && classification.action === 'reply') {
      // A message we could only partly read is not one to answer automatically.
      const reason: Reason = { gate: 'parse', rule: 'parse.incomplete', detail: `parts of the message could not be read (${message.parseProblems.slice(0, 3).join('; ')}): left for a person` };
      classification = { ...classification, action: 'review', reasons: [...classification.reasons, reason] };
    }
    if (looksLikeBounce(headers) && raw) this.recordBounce(raw, headers);

    const recipient = replyRecipient(message.from, message.replyTo, (address) => isHospitalAddress(address, policy) && !isNoReplyAddress(address));
    // Read once: the trace records the kill switch as the decision saw it (one stat of the stop file per message).
    const killSwitch = this.options.killSwitch();
    const reused = this.reusedMessageIds.get(key);
    const decision = this.decideFor(classification, receivedAt, message, recipient, killSwitch, reused === undefined ? null : caseReference(reused));
    const excerpt = maskedExcerpt(message.newText, policy.data.logging.excerptChars);
    // Rendered as the case is inserted: the reply quotes the case's reference.
    const rendered: { reply?: RenderedReply } = {};
    const id = this.insertCase(
      item,
      uidValidity,
      key,
      message,
      receivedAt,
      classification,
      decision.status,
      [...classification.reasons, ...decision.reasons],
      excerpt,
      policy.data.logging.storeBodies ? maskNhsNumbers(message.text) : null,
      recipient,
      message.parseProblems,
      killSwitch.active,
      decision.renderReply && recipient
        ? (caseId) => {
            rendered.reply = this.render(caseId, message, classification, recipient, requestQuote(message.newText, classification, QUOTE_SOURCE_CHARS));
            return replyFields(rendered.reply);
          }
        : undefined,
    );
    if (recipient) this.recipientReplies.logged(recipient, decision.status);
    const { reply } = rendered;
    if (reply && decision.status === 'decided') {
      await this.queueReply(id, reply, item.uid);
      return;
    }
    this.count(decision.status);
    this.queueMove(decision.status, item.uid);
  }

  /**
   * Queues a decided reply for the next commit, which marks it `sending` and hands it to SMTP. Every
   * REPLIES_PER_COMMIT replies, once fewer than SENDS_IN_FLIGHT are in flight, the writes are committed.
   */
  private async queueReply(id: number, reply: RenderedReply, uid: number): Promise<void> {
    // Counted now: the next message's decision must see this reply against repliesPerPass.
    this.repliesThisPass++;
    this.repliesToSend.push({ id, reply, uid });
    if (this.repliesToSend.length < REPLIES_PER_COMMIT) return;
    await this.waitForSends(SENDS_IN_FLIGHT);
    this.commitBatchWrites();
    this.beginBatchWrites();
  }

  /** Sends the reply once `synced` (its `sending` on disk) resolves; it counts as in flight from now. */
  private handOff(synced: Promise<void>, id: number, reply: RenderedReply, uid: number): void {
    const sending = synced.then(() => this.deliver(id, reply)).then(
      (finalStatus) => {
        this.count(finalStatus);
        this.queueMove(finalStatus, uid);
      },
      (error: unknown) => {
        this.sendFailure ??= error;
      },
    );
    this.sendsInFlight.add(sending);
    void sending.finally(() => this.sendsInFlight.delete(sending));
  }

  /**
   * Waits until fewer than `limit` replies are in flight, with the batch's writes open for at most
   * SEND_WAIT_WITH_WRITES_OPEN_MS (then they are committed, and the wait goes on without them).
   */
  private async waitForSends(limit: number): Promise<void> {
    if (this.sendsInFlight.size < limit) return;
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((resolve) => {
      timer = setTimeout(resolve, SEND_WAIT_WITH_WRITES_OPEN_MS, 'slow');
    });
    try {
      while (this.sendsInFlight.size >= limit) {
        if ((await Promise.race([Promise.race(this.sendsInFlight), slow])) === 'slow') break;
      }
    } finally {
      clearTimeout(timer);
    }
    if (this.sendsInFlight.size < limit) return;
    const batching = this.batchWritesOpen;
    this.commitBatchWrites();
    while (this.sendsInFlight.size >= limit) await Promise.race(this.sendsInFlight);
    if (batching) this.beginBatchWrites();
  }

  /** Waits for every reply in flight and records the accepted ones; a failure to record one (the database) fails the pass here. */
  private async drainSends(): Promise<void> {
    while (this.sendsInFlight.size > 0) await Promise.allSettled([...this.sendsInFlight]);
    this.recordAcceptedReplies();
    const failure = this.sendFailure;
    this.sendFailure = null;
    if (failure) throw failure;
  }

  private decideFor(
    classification: Classification,
    receivedAt: Date,
    message: MailMessage,
    recipient: string | null,
    killSwitch: { active: boolean; why: string },
    reusesMessageIdOf: string | null,
  ): Decision {
    const { store, policy } = this.deps;
    const now = this.nowMs();
    const limits = policy.data.limits;
    if (classification.action === 'reply' && !recipient) {
      return {
        status: 'review',
        renderReply: false,
        reasons: [{ gate: 'sender', rule: 'reply.no-recipient', detail: 'no listed hospital address to reply to' }],
      };
    }
    const threadKey = threadKeyOf(message);
    return decide(classification, receivedAt, policy, {
      now: this.now(),
      dryRun: this.options.dryRun,
      killSwitch,
      repliesThisPass: this.repliesThisPass,
      recipientRepliesLast24h: recipient ? this.recipientReplies.since(recipient, now - DAY_MS, limits.repliesPerSenderPerDay) : 0,
      threadAlreadyReplied: threadKey ? store.threadRepliedSince(threadKey, now - limits.threadReplyWindowDays * DAY_MS, this.options.dryRun) : false,
      recipientBouncedRecently: recipient ? store.bouncedSince(recipient, now - limits.bounceCooldownDays * DAY_MS) : false,
      onlyCopiedIn: onlyCopiedIn(message.to, message.cc, this.ownAddresses),
      markedHighImportance: highImportanceMark(message),
      answersOurReply: answersOurReply(message),
      reusesMessageIdOf,
    });
  }

  private render(id: number, message: MessageHeaders, classification: Classification, recipient: string, quote: string): RenderedReply {
    const caseRef = caseReference(id);
    const domain = this.options.mailFrom.split('@')[1] ?? 'localhost';
    return renderReply(
      {
        headers: message,
        quoteSource: quote,
        classification,
        caseRef,
        to: recipient,
        from: this.options.mailFrom,
        // 12 random hex digits (a v4 UUID's last group): randomUUID draws from a cached pool, where
        // randomBytes asked OpenSSL each time (0.1 s of a 10,000-message dry run).
        messageId: replyMessageId(caseRef, randomUUID().slice(-12), domain),
      },
      this.deps.policy,
      this.deps.templates,
    );
  }

  /**
   * decided -> sending -> replied. `sending` is committed before SMTP sees the reply; if we die
   * after that, the case is never sent again automatically (recoverInterruptedSends).
   */
  private async send(id: number, reply: RenderedReply): Promise<CaseStatus> {
    if (!this.markSending(id)) return this.deps.store.get(id)?.status ?? 'review';
    syncCommittedWrites(this.deps.store.db);
    this.repliesThisPass++;
    return this.deliver(id, reply);
  }

  /** decided -> sending (in the open transaction, if any); false when the case is no longer `decided`. */
  private markSending(id: number): boolean {
    return this.deps.store.transition(id, 'sending', this.nowMs(), { actor: this.options.actor, from: ['decided'] });
  }

  /** Hands a reply marked `sending` (and committed) to SMTP; an accepted one waits in acceptedReplies to be recorded. */
  private async deliver(id: number, reply: RenderedReply): Promise<CaseStatus> {
    const { store, sender, logger } = this.deps;
    if (!sender) throw new Error('no sender configured for a live pass');
    crashPoint('after-sending');
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await sender.send(reply);
        crashPoint('after-smtp-accept');
        this.acceptedReplies.push({ id, response: result.response, at: this.nowMs() });
        return 'replied';
      } catch (error) {
        const sendError = error instanceof SendError ? error : new SendError(String((error as Error)?.message ?? error), 'transient', String(error), false);
        const retryable = sendError.kind === 'transient' && sendError.notAccepted && attempt < this.options.smtpMaxAttempts;
        logger.warn({ caseId: caseReference(id), attempt, response: sendError.response, retryable }, 'the reply was not accepted by the SMTP server');
        if (retryable) {
          await this.sleep(this.options.smtpRetryDelayMs * 2 ** (attempt - 1));
          continue;
        }
        if (sendError.kind === 'transient' && sendError.notAccepted) {
          // Refused for now (4xx): nothing was delivered, so the next pass may try again.
          store.transition(id, 'decided', this.nowMs(), { actor: this.options.actor, from: ['sending'], smtpResponse: sendError.response, note: `SMTP refused for now after ${attempt} attempts; will retry next pass` });
          this.repliesThisPass--;
          this.counts.errors++;
          return 'decided';
        }
        const note = sendError.kind === 'permanent' ? `the SMTP server refused the reply: ${sendError.response}` : `delivery not confirmed: ${sendError.response}; for a day, each pass looks for it in the Sent folder`;
        this.recipientReplies.withdrawn(reply.to);
        store.transition(id, 'review', this.nowMs(), {
          actor: this.options.actor,
          from: ['sending'],
          smtpResponse: sendError.response,
          note,
          extraReasons: [{ gate: 'threshold', rule: sendError.kind === 'permanent' ? 'smtp.refused' : 'smtp.unconfirmed', detail: note }],
        });
        this.counts.errors++;
        return 'review';
      }
    }
  }

  /** After a crash: `sending` may have gone out, so a person decides; `decided` never reached SMTP, so send it. */
  private async recoverInterruptedSends(): Promise<Array<Pick<CaseRow, 'mailbox' | 'uid_validity' | 'uid' | 'status'>>> {
    const { store, logger } = this.deps;
    const recovered: Array<Pick<CaseRow, 'mailbox' | 'uid_validity' | 'uid' | 'status'>> = [];
    for (const row of store.casesInStatus('sending')) {
      const note = 'delivery not confirmed: the worker stopped while this reply was being sent. For a day, each pass looks for it in the Sent folder; check there before approving.';
      store.transition(row.id, 'review', this.nowMs(), {
        actor: this.options.actor,
        from: ['sending'],
        note,
        extraReasons: [{ gate: 'threshold', rule: 'delivery-not-confirmed', detail: note }],
      });
      logger.warn({ caseId: caseReference(row.id) }, 'a reply was interrupted mid-send; the case is now waiting for review');
      recovered.push({ ...row, status: 'review' });
    }
    for (const row of store.casesInStatus('decided')) {
      if (!row.reply_message_id) {
        store.transition(row.id, 'review', this.nowMs(), { actor: this.options.actor, from: ['decided'], note: 'no reply was rendered before the worker stopped' });
        recovered.push({ ...row, status: 'review' });
        continue;
      }
      const status = await this.send(row.id, storedReply(row, this.options.mailFrom));
      this.count(status);
      recovered.push({ ...row, status });
    }
    this.recordAcceptedReplies();
    return recovered;
  }

  /**
   * The key to log the message under, or null when it is already handled (a copy of a message in the
   * log). A different message that reuses a Message-ID already logged (a system that numbers its mail
   * badly) is not "seen": it gets a key of its own, and a person looks at it (reusedMessageIds).
   */
  private unhandledKey(key: string, item: HeaderItem, uidValidity: string, headers: MessageHeaders, receivedAt: Date): string | null {
    const { store } = this.deps;
    // A message without a Message-ID logged before 2026-11-28 is under the key of its whole header block.
    const existing = store.findByMessageKey(key) ?? (headers.messageId ? undefined : store.findByMessageKey(earlierMessageKey(item)));
    if (!existing) return key;
    if (existing.dry_run && !this.options.dryRun) {
      store.discardDryRunCase(existing.id);
      return key;
    }
    if (!headers.messageId || sameMessage(existing, headers, receivedAt)) return this.seen(existing, item, uidValidity);
    const own = `${key}#${createHash('sha256').update(item.header).digest('hex').slice(0, 16)}`;
    const again = store.findByMessageKey(own);
    if (again && !(again.dry_run && !this.options.dryRun)) return this.seen(again, item, uidValidity);
    if (again) store.discardDryRunCase(again.id);
    this.reusedMessageIds.set(own, existing.id);
    return own;
  }

  private seen(existing: CaseRow, item: HeaderItem, uidValidity: string): null {
    this.counts.alreadySeen++;
    // The same copy we recorded but did not get to file (a crash between record and move): file it now.
    // A different copy (moved back or copied by a person) is theirs: leave it alone.
    if (existing.uid === item.uid && existing.uid_validity === uidValidity && !this.options.dryRun && FINAL_OR_WAITING(existing)) {
      this.queueMove(existing.status, item.uid);
    }
    return null;
  }

  private recordBounce(raw: Buffer, headers: MessageHeaders): void {
    const { store, logger } = this.deps;
    const text = raw.toString('latin1');
    const ref = /pcn-autoreply\.(PCN-\d+)\./.exec(text);
    const caseId = ref ? Number(ref[1]!.slice(4)) : null;
    const row = caseId ? store.get(caseId) : undefined;
    const recipient =
      /Final-Recipient:\s*rfc822;\s*<?([^\s>]+@[^\s>]+)>?/i.exec(text)?.[1]?.toLowerCase() ??
      headers.headers['x-failed-recipients']?.[0]?.trim().toLowerCase() ??
      row?.reply_to_address ??
      null;
    if (!recipient) return;
    // A bounce's subject is often the original's, NHS number included.
    const subject = maskNhsNumbers(headers.subject);
    store.recordBounce(recipient, row?.id ?? null, this.nowMs(), subject.slice(0, 200));
    if (row) store.transition(row.id, row.status, this.nowMs(), { actor: this.options.actor, note: `our reply to ${recipient} bounced: ${subject.slice(0, 120)}` });
    logger.warn({ recipient, caseId: row ? caseReference(row.id) : null }, 'a reply bounced; no further replies go to this address for the cooldown period');
  }

  private insertCase(
    item: HeaderItem,
    uidValidity: string,
    key: string,
    headers: MessageHeaders,
    receivedAt: Date,
    classification: Classification,
    status: CaseStatus,
    reasons: Reason[],
    excerpt: string,
    body: string | null,
    recipient: string | null = null,
    parseProblems: string[] = [],
    killSwitchActive: boolean = this.options.killSwitch().active,
    /** Renders the case's reply, given its id: the case is then inserted with it (CaseStore.insertWithReply). */
    renderReply?: (id: number) => ReplyFields,
  ): number {
    const { store, policy } = this.deps;
    const category = policy.data.categories[classification.category];
    const newCase: NewCase = {
      messageKey: key,
      messageId: headers.messageId,
      mailbox: this.deps.source.description,
      uidValidity,
      uid: item.uid,
      receivedAt: receivedAt.getTime(),
      fromAddress: headers.from?.address ?? null,
      fromName: headers.from?.name ? maskNhsNumbers(headers.from.name).slice(0, 200) : null,
      organisationId: classification.organisationId,
      organisation: classification.organisation,
      subject: loggedSubject(headers.subject),
      excerpt,
      body,
      category: classification.category,
      action: classification.action,
      confidence: classification.confidence,
      autonomy: classification.action === 'reply' ? (category?.autonomy ?? null) : null,
      status,
      dryRun: this.options.dryRun,
      urgent: classification.category === 'urgent_clinical',
      reasons: maskReasons(reasons),
      trace: {
        scores: classification.scores,
        headers: headersThatMattered(headers),
        size: item.size,
        parseProblems: parseProblems.map(maskNhsNumbers),
        killSwitch: killSwitchActive,
      },
      policyVersion: policy.data.policy.version,
      policyHash: policy.hash,
      threadKey: threadKeyOf(headers),
      replyToAddress: recipient,
      toPerson: WAITING_FOR_PERSON.has(status) ? whyToPerson(classification.category, reasons) : null,
    };
    return renderReply ? store.insertWithReply(newCase, this.nowMs(), this.options.actor, renderReply) : store.insert(newCase, this.nowMs(), this.options.actor);
  }

  private queueMove(status: CaseStatus, uid: number): void {
    const { policy } = this.deps;
    if (this.options.dryRun || !policy.data.folders.enabled) return;
    const key = folderKeyFor(status);
    if (!key) return;
    const folder = policy.data.folders[key];
    const list = this.moves.get(folder) ?? [];
    list.push(uid);
    this.moves.set(folder, list);
  }

  /** One packed MOVE per folder per batch: per-message commands cost ~30x more. */
  private async flushMoves(): Promise<void> {
    for (const [folder, uids] of this.moves) {
      await this.imap(() => this.deps.source.move(uids, folder));
    }
    this.moves.clear();
  }

  private count(status: CaseStatus): void {
    const c = this.counts;
    if (status === 'replied') c.replied++;
    else if (status === 'review') c.review++;
    else if (status === 'awaiting_approval') c.awaitingApproval++;
    else if (status === 'filed') c.filed++;
    else if (status === 'ignored') c.ignored++;
    else if (status === 'too_old') c.tooOld++;
    else if (status === 'would_reply') c.wouldReply++;
    else if (status === 'shadowed') c.shadowed++;
  }

  private now(): Date {
    return this.deps.clock();
  }

  private nowMs(): number {
    return this.deps.clock().getTime();
  }
}

function FINAL_OR_WAITING(row: CaseRow): boolean {
  return FINAL_STATUSES.has(row.status) || row.status === 'review' || row.status === 'awaiting_approval';
}

/** Message-ID when there is one; otherwise a digest of what identifies the message. */

/** The conversation a message belongs to: the first message of its References chain. */
export function threadKeyOf(headers: MessageHeaders): string | null {
  return headers.references[0] ?? headers.inReplyTo ?? headers.messageId ?? null;
}

/** The Date header unless missing or in the future (forged or a wrong clock): then the server's arrival time. */
/**
 * Whether a logged case is this message (another copy of it) rather than a different message under
 * the same Message-ID: same sender, subject and, when it has one, Date. A case whose texts were purged
 * cannot tell, and counts as the same (never a second reply).
 */
function sameMessage(row: CaseRow, headers: MessageHeaders, receivedAt: Date): boolean {
  if (row.subject === null) return true;
  const dated = headers.date !== null && headers.date.getTime() === receivedAt.getTime();
  return row.subject === loggedSubject(headers.subject) && row.from_address === (headers.from?.address ?? null) && (!dated || row.received_at === receivedAt.getTime());
}

/** A message's subject as its case keeps it: identifiers masked, at most 300 characters. */
function loggedSubject(subject: string): string {
  return maskPatientIdentifiers(subject).slice(0, 300);
}

function receivedTime(headers: MessageHeaders, item: HeaderItem, now: Date): Date {
  const date = headers.date;
  if (date && !Number.isNaN(date.getTime()) && date.getTime() <= now.getTime() + DAY_MS) return date;
  return item.internalDate ?? now;
}

function looksLikeBounce(headers: MessageHeaders): boolean {
  const from = headers.from?.address ?? '';
  return headers.contentType === 'multipart/report' || headers.returnPath === '' || /^(mailer-daemon|postmaster)@/i.test(from);
}

function syntheticClassification(
  category: Classification['category'],
  action: Classification['action'],
  reason: Reason,
  headers: MessageHeaders,
  policy: Policy,
): Classification {
  const hospital = matchHospital(headers, policy).hospital;
  return { category, action, confidence: 0, organisation: hospital?.name ?? null, organisationId: hospital?.id ?? null, reasons: [reason], scores: {} };
}

function headersThatMattered(headers: MessageHeaders): Record<string, unknown> {
  return {
    from: headers.from?.address ?? null,
    replyTo: headers.replyTo.map((a) => a.address),
    returnPath: headers.returnPath,
    date: headers.date?.toISOString() ?? null,
    messageId: headers.messageId,
    inReplyTo: headers.inReplyTo,
    contentType: headers.contentType,
    automatic: Object.fromEntries(
      Object.entries(headers.headers).filter(([name]) => /^(auto-submitted|x-auto-response-suppress|precedence|list-|x-autoreply|x-autorespond|x-auto-generated|x-failed-recipients|x-loop|feedback-id)/.test(name)),
    ),
  };
}

function replyFields(reply: RenderedReply): ReplyFields {
  return { replyToAddress: reply.to, replyMessageId: reply.messageId, replySubject: reply.subject, replyText: reply.text, replyHtml: reply.html };
}

/** Rebuild a reply from what the case log holds, so a resend is byte-for-byte what was approved. */
export function storedReply(row: CaseRow, mailFrom: string): RenderedReply {
  const references = [...new Set([row.thread_key, row.message_id].filter((id): id is string => Boolean(id)))];
  return {
    from: mailFrom,
    to: row.reply_to_address ?? '',
    subject: row.reply_subject ?? '',
    messageId: row.reply_message_id ?? '',
    inReplyTo: row.message_id,
    references,
    headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All', 'X-PCN-Case-Id': caseReference(row.id) },
    text: row.reply_text ?? '',
    html: row.reply_html ?? '',
  };
}

