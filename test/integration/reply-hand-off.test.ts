import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RenderedReply } from '../../src/core/render-reply.js';
import { DirSource } from '../../src/mail/dir-source.js';
import { parseMessage } from '../../src/mail/parse-message.js';
import type { ReplySender, SendResult } from '../../src/mail/reply-sender.js';
import { CaseStore } from '../../src/store/case-store.js';
import { configureWorkerConnection, openDatabase, type Db } from '../../src/store/open-database.js';
import { REPLIES_PER_COMMIT, runPass, SENDS_IN_FLIGHT, type PassResult } from '../../src/worker/run-pass.js';
import { loadPolicyAndTemplates } from '../../src/worker/worker-context.js';
import { EXAMPLE_POLICY, labelledCopies, SAMPLE_NOW, SHARED_MAILBOX } from '../support/hardening-tools.js';

/** The cases that were `sending` each time the pass flushed its commits to disk; `fail` makes the flushes fail. */
const synced = vi.hoisted(() => ({ sending: new Set<number>(), look: (): number[] => [], fail: false, flushes: 0 }));
vi.mock('../../src/store/open-database.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/store/open-database.js')>();
  return {
    ...actual,
    syncCommittedWrites: (db: Parameters<typeof actual.syncCommittedWrites>[0]) => {
      actual.syncCommittedWrites(db);
      for (const id of synced.look()) synced.sending.add(id);
    },
    // What was `sending` when the flush was asked for is on disk once it resolves.
    syncCommittedWritesAsync: async (db: Parameters<typeof actual.syncCommittedWritesAsync>[0]) => {
      const sendingWhenAsked = synced.look();
      synced.flushes++;
      if (synced.fail) throw new Error('EIO: i/o error, fsync');
      await actual.syncCommittedWritesAsync(db);
      for (const id of sendingWhenAsked) synced.sending.add(id);
    },
  };
});

/**
 * How a live pass hands replies to SMTP, with a real case log on disk and a sender the test holds:
 * replies are marked `sending` and committed in groups before SMTP sees them, and a server that is
 * slow to answer does not keep the log's write lock from `review` and `purge`.
 */

/** Takes every reply and answers only when the test says so; checks what the log holds meanwhile. */
class HeldSender implements ReplySender {
  readonly description = 'held';
  readonly received: RenderedReply[] = [];
  /** Case references whose reply reached send() before its `sending` was committed. */
  readonly notCommittedFirst: string[] = [];
  /** Case references whose reply reached send() before its `sending` was flushed to disk. */
  readonly notSyncedFirst: string[] = [];
  private readonly waiting: Array<() => void> = [];
  private releasing = false;

  constructor(
    private readonly committedStatus: (caseRef: string) => string | undefined,
    private readonly syncedSending: (caseRef: string) => boolean,
  ) {}

  async send(reply: RenderedReply): Promise<SendResult> {
    const caseRef = reply.headers['X-PCN-Case-Id']!;
    if (this.committedStatus(caseRef) !== 'sending') this.notCommittedFirst.push(caseRef);
    if (!this.syncedSending(caseRef)) this.notSyncedFirst.push(caseRef);
    this.received.push(reply);
    if (!this.releasing) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return { response: '250 2.0.0 Ok: queued' };
  }

  get held(): number {
    return this.waiting.length;
  }

  releaseAll(): void {
    this.releasing = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  async close(): Promise<void> {}
}

let dir: string;
let db: Db;
let reader: Database.Database;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-hand-off-'));
  db = openDatabase(path.join(dir, 'cases.sqlite'));
  configureWorkerConnection(db);
  // Another process's view of the log: only what the pass has committed.
  reader = new Database(path.join(dir, 'cases.sqlite'));
  reader.pragma('busy_timeout = 0');
});

afterEach(() => {
  reader.close();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function startPass(copies: number): { pass: Promise<PassResult>; sender: HeldSender; answerable: number } {
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(inbox);
  const messages = labelledCopies('hand-off', copies);
  messages.forEach((message, index) => fs.writeFileSync(path.join(inbox, `${String(index).padStart(4, '0')}.eml`), message.raw));
  const { policy, templates } = loadPolicyAndTemplates(EXAMPLE_POLICY);
  const statusOf = reader.prepare<[number], { status: string }>('SELECT status FROM cases WHERE id = ?');
  const idOf = (caseRef: string) => Number(caseRef.replace(/^PCN-0*/, ''));
  const sendingNow = reader.prepare("SELECT id FROM cases WHERE status = 'sending'").pluck();
  synced.sending.clear();
  synced.look = () => sendingNow.all() as number[];
  synced.fail = false;
  synced.flushes = 0;
  const sender = new HeldSender(
    (caseRef) => statusOf.get(idOf(caseRef))?.status,
    (caseRef) => synced.sending.has(idOf(caseRef)),
  );
  const pass = runPass(
    { store: new CaseStore(db), source: new DirSource(inbox), sender, policy, templates, parse: (raw) => parseMessage(raw), clock: () => new Date(SAMPLE_NOW), logger: pino({ level: 'silent' }) },
    { dryRun: false, mailFrom: SHARED_MAILBOX, killSwitch: () => ({ active: false, why: '' }), batchSize: 250, smtpMaxAttempts: 3, smtpRetryDelayMs: 1, actor: 'worker' },
  );
  return { pass, sender, answerable: messages.filter((m) => m.mayBeAnswered).length };
}

describe('replies handed to SMTP', () => {
  it('every reply is committed as `sending` before SMTP sees it, and each is recorded `replied` once accepted', async () => {
    const { pass, sender, answerable } = startPass(2);
    sender.releaseAll();
    const result = await pass;
    expect(sender.received).toHaveLength(answerable);
    expect(sender.notCommittedFirst, 'replies handed over before their `sending` was on disk').toEqual([]);
    // Flushed to disk too: a power cut after the hand-off cannot lose the `sending` mark.
    expect(sender.notSyncedFirst, 'replies handed over before their `sending` was flushed to disk').toEqual([]);
    expect(result.counts.replied).toBe(answerable);
    const statuses = reader.prepare("SELECT status, count(*) AS n FROM cases WHERE reply_message_id IS NOT NULL GROUP BY status").all();
    expect(statuses).toEqual([{ status: 'replied', n: answerable }]);
    // Each reply's trail, in order: logged and its reply rendered (two events), sending, replied.
    const trails = reader
      .prepare("SELECT group_concat(status, ' ') AS trail FROM (SELECT case_id, status FROM case_events WHERE case_id IN (SELECT id FROM cases WHERE status = 'replied') ORDER BY id) GROUP BY case_id")
      .all() as Array<{ trail: string }>;
    expect(new Set(trails.map((t) => t.trail))).toEqual(new Set(['decided decided sending replied']));
  });

  it('while SMTP is slow to answer, the log stays writable for `review` and `purge`, and what SMTP holds is on disk as `sending`', async () => {
    const { pass, sender, answerable } = startPass(5);
    // More replies than the pass hands over before it must wait for SMTP.
    expect(answerable).toBeGreaterThan(SENDS_IN_FLIGHT + 2 * REPLIES_PER_COMMIT);
    await eventually(() => sender.held >= SENDS_IN_FLIGHT, `${SENDS_IN_FLIGHT} replies held by SMTP`);
    // Longer than the pass ever waits for SMTP with its writes open.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(() => reader.exec('BEGIN IMMEDIATE; ROLLBACK'), 'another process could not write to the case log').not.toThrow();
    const sending = reader.prepare("SELECT count(*) AS n FROM cases WHERE status = 'sending'").get() as { n: number };
    expect(sending.n).toBe(sender.held);
    expect(sender.held).toBeLessThan(answerable);

    sender.releaseAll();
    const result = await pass;
    expect(result.counts.replied).toBe(answerable);
    expect(new Set(sender.received.map((r) => r.inReplyTo)).size).toBe(answerable);
    expect(sender.notCommittedFirst).toEqual([]);
  });

  it('a flush to disk that fails: none of its replies reaches SMTP, the pass fails, and they stay `sending` for review', async () => {
    const { pass, sender } = startPass(2);
    synced.fail = true;
    sender.releaseAll();
    await expect(pass).rejects.toThrow(/fsync/);
    expect(synced.flushes).toBeGreaterThan(0);
    expect(sender.received).toEqual([]);
    const sending = reader.prepare("SELECT count(*) AS n FROM cases WHERE status = 'sending'").get() as { n: number };
    expect(sending.n).toBeGreaterThan(0);
    expect(reader.prepare("SELECT count(*) AS n FROM cases WHERE status = 'replied'").get()).toEqual({ n: 0 });
  });
});
