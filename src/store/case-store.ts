import type { RunResult, Statement } from 'better-sqlite3';
import type { Db } from './open-database.js';
import { COUNTED_AS_REPLY, WAITING_FOR_PERSON, type CaseStatus } from '../core/case-status.js';
import { TO_PERSON_OTHER } from '../core/why-to-person.js';
import type { Reason } from '../core/classification.js';

/** countsAsReply in SQL; the one parameter is 1 when a dry run's own would_reply cases count. */
const COUNTED_AS_REPLY_SQL = `(status IN (${COUNTED_AS_REPLY.map((status) => `'${status}'`).join(', ')}) OR (status = 'would_reply' AND ? = 1))`;

/** The note a case carries once its reply is rendered (as transition() with that note would set it). */
export const REPLY_RENDERED = 'reply rendered';

const INSERTED_COLUMNS = `message_key, message_id, mailbox, uid_validity, uid, received_at, from_address, from_name,
  organisation_id, organisation, subject, excerpt, body, category, action, confidence, autonomy,
  status, dry_run, urgent, reasons, trace, policy_version, policy_hash, thread_key, reply_to_address,
  to_person, created_at, updated_at`;
const INSERTED_COLUMN_COUNT = INSERTED_COLUMNS.split(',').length;
const placeholders = (count: number): string => Array.from({ length: count }, () => '?').join(', ');

export interface NewCase {
  messageKey: string;
  messageId: string | null;
  mailbox: string;
  uidValidity: string;
  uid: number;
  receivedAt: number;
  fromAddress: string | null;
  fromName: string | null;
  organisationId: string | null;
  organisation: string | null;
  subject: string;
  excerpt: string;
  body: string | null;
  category: string;
  action: string;
  confidence: number;
  autonomy: string | null;
  status: CaseStatus;
  dryRun: boolean;
  urgent: boolean;
  reasons: Reason[];
  trace: object;
  policyVersion: string;
  policyHash: string;
  threadKey: string | null;
  replyToAddress: string | null;
  /** Why the case went to a person (whyToPerson), or null when it did not. */
  toPerson: string | null;
}

export interface CaseRow {
  id: number;
  message_key: string;
  message_id: string | null;
  mailbox: string | null;
  uid_validity: string | null;
  uid: number | null;
  received_at: number;
  from_address: string | null;
  from_name: string | null;
  organisation_id: string | null;
  organisation: string | null;
  subject: string | null;
  excerpt: string | null;
  body: string | null;
  category: string;
  action: string;
  confidence: number;
  autonomy: string | null;
  status: CaseStatus;
  dry_run: number;
  urgent: number;
  reasons: string;
  trace: string | null;
  policy_version: string;
  policy_hash: string;
  thread_key: string | null;
  reply_to_address: string | null;
  reply_message_id: string | null;
  reply_subject: string | null;
  reply_text: string | null;
  reply_html: string | null;
  smtp_response: string | null;
  note: string | null;
  created_at: number;
  updated_at: number;
  replied_at: number | null;
  purged_at: number | null;
  /** The folder the message still waits in after a person decided its case (see refileDecided). */
  refile_from: string | null;
  /** Why the case went to a person (core/why-to-person.ts), kept after the person acts; null if it never did. */
  to_person: string | null;
}

export interface ReplyFields {
  replyToAddress: string;
  replyMessageId: string;
  replySubject: string;
  replyText: string;
  replyHtml: string;
}

export interface Transition {
  actor: string;
  note?: string | null;
  /** Only move when the case is in one of these states (compare-and-set: two writers cannot both win). */
  from?: readonly CaseStatus[];
  reply?: ReplyFields;
  smtpResponse?: string | null;
  repliedAt?: number;
  extraReasons?: Reason[];
}

export function caseReference(id: number): string {
  return `PCN-${String(id).padStart(6, '0')}`;
}

/** Parse `PCN-000123` or `123` into a case id; null when it is neither. */
export function parseCaseReference(text: string): number | null {
  const match = /^(?:PCN-)?0*(\d+)$/i.exec(text.trim());
  return match ? Number(match[1]) : null;
}

/** The case log: every message the worker has met, its decision trace and each state with its time. */
export class CaseStore {
  private readonly statements;

  constructor(readonly db: Db) {
    this.statements = {
      byKey: db.prepare('SELECT * FROM cases WHERE message_key = ?'),
      byId: db.prepare('SELECT * FROM cases WHERE id = ?'),
      byMessageId: db.prepare('SELECT * FROM cases WHERE message_id = ? ORDER BY id LIMIT 1'),
      // Positional, in the order insertRow() passes them: named parameters needed an object of every
      // column per case, a copy the old inbox's main thread paid for in garbage collection (issue 7).
      insert: db.prepare(`INSERT INTO cases (${INSERTED_COLUMNS}) VALUES (${placeholders(INSERTED_COLUMN_COUNT)})`),
      insertRendered: db.prepare(
        `INSERT INTO cases (id, note, reply_message_id, reply_subject, reply_text, reply_html, ${INSERTED_COLUMNS}) VALUES (${placeholders(6 + INSERTED_COLUMN_COUNT)})`,
      ),
      nextId: db.prepare('SELECT coalesce(max(id), 0) + 1 AS id FROM cases').pluck(),
      event: db.prepare('INSERT INTO case_events (case_id, at, status, actor, note) VALUES (?, ?, ?, ?, ?)'),
      events: db.prepare('SELECT at, status, actor, note FROM case_events WHERE case_id = ? ORDER BY id'),
      updateLocation: db.prepare('UPDATE cases SET mailbox = ?, uid_validity = ?, uid = ? WHERE id = ?'),
      // A reply counts from the moment it is decided: two messages in one pass cannot both slip under a limit.
      // Counting stops at the cap: the limit only asks "has this address had N replies?", and a busy
      // team mailbox must not make every decision scan all its cases (quadratic over a backlog).
      recipientReplies: db.prepare(
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM cases WHERE reply_to_address = ? AND created_at >= ? AND ${COUNTED_AS_REPLY_SQL} LIMIT ?)`,
      ),
      threadReplied: db.prepare(
        `SELECT 1 FROM cases WHERE thread_key = ? AND created_at >= ? AND ${COUNTED_AS_REPLY_SQL} LIMIT 1`,
      ),
      replace: db.prepare('DELETE FROM cases WHERE id = ? AND dry_run = 1'),
      deleteEvents: db.prepare('DELETE FROM case_events WHERE case_id = ?'),
      deleteCase: db.prepare('DELETE FROM cases WHERE id = ?'),
      deleteEvent: db.prepare('DELETE FROM case_events WHERE id = ?'),
      replyMessageIdKnown: db.prepare('SELECT id FROM cases WHERE reply_message_id = ? LIMIT 1'),
      bounced: db.prepare('SELECT 1 FROM bounces WHERE address = ? AND at >= ? LIMIT 1'),
      addBounce: db.prepare('INSERT INTO bounces (address, case_id, at, detail) VALUES (?, ?, ?, ?)'),
      inStatus: db.prepare('SELECT * FROM cases WHERE status = ? ORDER BY id'),
      getCursor: db.prepare('SELECT uid_validity, last_uid FROM cursors WHERE mailbox = ?'),
      setCursor: db.prepare(`INSERT INTO cursors (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at`),
    };
  }

  findByMessageKey(key: string): CaseRow | undefined {
    return this.statements.byKey.get(key) as CaseRow | undefined;
  }

  get(id: number): CaseRow | undefined {
    return this.statements.byId.get(id) as CaseRow | undefined;
  }

  /** A case by its reference (`PCN-000123`, `123`) or by the hospital message's Message-ID. */
  find(idOrMessageId: string): CaseRow | undefined {
    const id = parseCaseReference(idOrMessageId);
    if (id !== null) return this.get(id);
    const trimmed = idOrMessageId.trim();
    const withBrackets = trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
    return (this.statements.byMessageId.get(withBrackets) ?? this.statements.byMessageId.get(trimmed)) as CaseRow | undefined;
  }

  events(caseId: number): Array<{ at: number; status: string; actor: string; note: string | null }> {
    return this.statements.events.all(caseId) as Array<{ at: number; status: string; actor: string; note: string | null }>;
  }

  insert(newCase: NewCase, now: number, actor: string): number {
    const info = this.insertRow(this.statements.insert, newCase, now);
    const id = Number(info.lastInsertRowid);
    this.statements.event.run(id, now, newCase.status, actor, null);
    return id;
  }

  /**
   * Insert a case with the reply rendered for it: `render` is given the case's id (its reference is
   * in the reply) and the row is written once, with its reply, instead of inserted and then updated
   * (the update rewrote the row and four indexes: 0.2 ms a reply in the worker, issue 7). The log reads
   * as if transition() had added the reply: the same row and note, a second event "reply rendered".
   * If `render` throws, the case is logged without a reply and the error is thrown on.
   *
   * Inside a transaction already open (the worker's batch) no savepoint is opened: SQLite would copy
   * every page the insert touches (16 KB each, a dozen with the indexes) into the savepoint's
   * journal first, which was half the cost of such an insert (issue 7). The case is still written
   * whole or not at all: render() runs before any write, and if an event cannot be written after
   * the row was, the row and its events are deleted again before the error is thrown on.
   */
  insertWithReply(newCase: NewCase, now: number, actor: string, render: (id: number) => ReplyFields): number {
    const write = (): { id: number; renderFailure?: { error: unknown } } => this.insertWithReplyInTransaction(newCase, now, actor, render);
    const { id, renderFailure } = this.db.inTransaction ? write() : this.db.transaction(write).immediate();
    if (renderFailure) throw renderFailure.error;
    return id;
  }

  /** A render that throws leaves the case logged without a reply (committed with it), and its error to throw. */
  private insertWithReplyInTransaction(newCase: NewCase, now: number, actor: string, render: (id: number) => ReplyFields): { id: number; renderFailure?: { error: unknown } } {
    const id = this.statements.nextId.get() as number;
    let reply: ReplyFields;
    try {
      reply = render(id);
    } catch (error) {
      return { id: this.insert(newCase, now, actor), renderFailure: { error } };
    }
    const c = { ...newCase, replyToAddress: reply.replyToAddress };
    this.insertRow(this.statements.insertRendered, c, now, id, REPLY_RENDERED, reply.replyMessageId, reply.replySubject, reply.replyText, reply.replyHtml);
    try {
      this.statements.event.run(id, now, newCase.status, actor, null);
      this.statements.event.run(id, now, newCase.status, actor, REPLY_RENDERED);
    } catch (error) {
      this.statements.deleteEvents.run(id);
      this.statements.deleteCase.run(id);
      throw error;
    }
    return { id };
  }

  /** The values of INSERTED_COLUMNS, in order, after any leading values the statement takes. */
  private insertRow(statement: Statement, c: NewCase, now: number, ...leading: unknown[]): RunResult {
    // prettier-ignore
    return statement.run(
      ...leading,
      c.messageKey, c.messageId, c.mailbox, c.uidValidity, c.uid, c.receivedAt, c.fromAddress, c.fromName,
      c.organisationId, c.organisation, c.subject, c.excerpt, c.body, c.category, c.action, c.confidence, c.autonomy,
      c.status, c.dryRun ? 1 : 0, c.urgent ? 1 : 0, JSON.stringify(c.reasons), JSON.stringify(c.trace), c.policyVersion, c.policyHash, c.threadKey, c.replyToAddress,
      c.toPerson, now, now,
    );
  }

  updateLocation(id: number, mailbox: string, uidValidity: string, uid: number): void {
    this.statements.updateLocation.run(mailbox, uidValidity, uid, id);
  }

  /**
   * Move a case to a new status and record the event, atomically. With `from`, the move only
   * happens if the case is still in one of those states; returns false otherwise.
   *
   * Inside a transaction already open (the worker's batch: two moves a reply in a live pass) no
   * savepoint is opened, for the reason insertWithReply gives: the event is written first, only if
   * the case is there to move, then the case; if the case cannot be written, the event is deleted
   * again. A move that adds reasons (rare: a failure) reads the row, and keeps the savepoint.
   */
  transition(id: number, status: CaseStatus, now: number, change: Transition): boolean {
    const { sets, where, params } = this.transitionSql(id, status, now, change);
    if (this.db.inTransaction && !change.extraReasons?.length) {
      const eventParams = { ...params, actor: change.actor, eventNote: change.note ?? null };
      const event = this.prepared(`INSERT INTO case_events (case_id, at, status, actor, note) SELECT @id, @now, @status, @actor, @eventNote WHERE EXISTS (SELECT 1 FROM cases WHERE ${where})`).run(eventParams);
      if (event.changes === 0) return false;
      let moved = false;
      try {
        moved = this.prepared(`UPDATE cases SET ${sets} WHERE ${where}`).run(params).changes > 0;
      } finally {
        if (!moved) this.statements.deleteEvent.run(event.lastInsertRowid);
      }
      return moved;
    }
    return this.db.transaction(() => {
      const result = this.prepared(`UPDATE cases SET ${sets} WHERE ${where}`).run(params);
      if (result.changes === 0) return false;
      if (change.extraReasons?.length) {
        const row = this.get(id)!;
        const reasons = [...(JSON.parse(row.reasons) as Reason[]), ...change.extraReasons];
        this.prepared('UPDATE cases SET reasons = ? WHERE id = ?').run(JSON.stringify(reasons), id);
      }
      this.statements.event.run(id, now, status, change.actor, change.note ?? null);
      return true;
    }).immediate();
  }

  /** A transition's SET list, its WHERE (the case, and its present status when `from` is given) and their parameters. */
  private transitionSql(id: number, status: CaseStatus, now: number, change: Transition): { sets: string; where: string; params: Record<string, unknown> } {
    const sets = ['status = @status', 'updated_at = @now'];
    const params: Record<string, unknown> = { id, status, now };
    if (WAITING_FOR_PERSON.has(status)) {
      // The first route to a person is the one counted; a case that fails again later keeps it.
      sets.push('to_person = coalesce(to_person, @toPerson)');
      params.toPerson = change.extraReasons?.at(-1)?.rule ?? TO_PERSON_OTHER;
    }
    if (change.note !== undefined) {
      sets.push('note = @note');
      params.note = change.note;
    }
    if (change.reply) {
      sets.push(
        'reply_to_address = @replyToAddress',
        'reply_message_id = @replyMessageId',
        'reply_subject = @replySubject',
        'reply_text = @replyText',
        'reply_html = @replyHtml',
      );
      Object.assign(params, change.reply);
    }
    if (change.smtpResponse !== undefined) {
      sets.push('smtp_response = @smtpResponse');
      params.smtpResponse = change.smtpResponse;
    }
    if (change.repliedAt !== undefined) {
      sets.push('replied_at = @repliedAt');
      params.repliedAt = change.repliedAt;
    }
    let where = 'id = @id';
    if (change.from) {
      where += ` AND status IN (${change.from.map((_, i) => `@from${i}`).join(', ')})`;
      change.from.forEach((s, i) => (params[`from${i}`] = s));
    }
    return { sets: sets.join(', '), where, params };
  }

  /** Statements built from a transition's shape, prepared once: there are only a handful of shapes. */
  private readonly preparedByText = new Map<string, Statement>();

  private prepared(sql: string): Statement {
    let statement = this.preparedByText.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.preparedByText.set(sql, statement);
    }
    return statement;
  }

  /** Replies to this address since `since`, counted up to `atMost`. */
  recipientRepliesSince(address: string, since: number, countDryRun: boolean, atMost: number): number {
    return (this.statements.recipientReplies.get(address, since, countDryRun ? 1 : 0, atMost) as { n: number }).n;
  }

  threadRepliedSince(threadKey: string, since: number, countDryRun: boolean): boolean {
    return this.statements.threadReplied.get(threadKey, since, countDryRun ? 1 : 0) !== undefined;
  }

  /**
   * Cases in review because their reply's delivery could not be confirmed (the worker stopped mid-send,
   * or the SMTP connection dropped after the reply was handed over), put there since `since`.
   */
  unconfirmedReplies(since: number): Array<Pick<CaseRow, 'id' | 'reply_message_id'> & { reply_message_id: string }> {
    return this.prepared(
      // Read through the partial index cases_unconfirmed_replies (migration 8), whose conditions these repeat.
      `SELECT id, reply_message_id FROM cases INDEXED BY cases_unconfirmed_replies
         WHERE status = 'review' AND reply_message_id IS NOT NULL AND updated_at >= ?
         AND (reasons LIKE '%"rule":"delivery-not-confirmed"%' OR reasons LIKE '%"rule":"smtp.unconfirmed"%') ORDER BY id`,
    ).all(since) as never;
  }

  /** After a person's decision: the message waits in `folder` until a pass moves it to the folder of its new status. */
  markForRefile(id: number, folder: string): void {
    this.prepared('UPDATE cases SET refile_from = ? WHERE id = ?').run(folder, id);
  }

  /** Cases whose message a pass still has to take out of the folder it waits in. */
  awaitingRefile(): Array<Pick<CaseRow, 'id' | 'message_id' | 'status' | 'refile_from'> & { refile_from: string }> {
    return this.prepared('SELECT id, message_id, status, refile_from FROM cases WHERE refile_from IS NOT NULL ORDER BY id').all() as never;
  }

  refiled(ids: readonly number[]): void {
    const clear = this.prepared('UPDATE cases SET refile_from = NULL WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => clear.run(id)))();
  }

  /** A dry run's case is a preview, not a handling: a live pass replaces it. */
  discardDryRunCase(id: number): void {
    this.db.transaction(() => {
      this.statements.deleteEvents.run(id);
      this.statements.replace.run(id);
    })();
  }

  /** The case whose reply had this Message-ID: used to recognise answers and bounces to our own mail. */
  caseForReplyMessageId(messageId: string): number | null {
    const row = this.statements.replyMessageIdKnown.get(messageId) as { id: number } | undefined;
    return row?.id ?? null;
  }

  bouncedSince(address: string, since: number): boolean {
    return this.statements.bounced.get(address, since) !== undefined;
  }

  recordBounce(address: string, caseId: number | null, at: number, detail: string): void {
    this.statements.addBounce.run(address, caseId, at, detail);
  }

  casesInStatus(status: CaseStatus): CaseRow[] {
    return this.statements.inStatus.all(status) as CaseRow[];
  }

  getCursor(mailbox: string): { uidValidity: string; lastUid: number } | null {
    const row = this.statements.getCursor.get(mailbox) as { uid_validity: string; last_uid: number } | undefined;
    return row ? { uidValidity: row.uid_validity, lastUid: row.last_uid } : null;
  }

  setCursor(mailbox: string, uidValidity: string, lastUid: number, now: number): void {
    this.statements.setCursor.run(mailbox, uidValidity, lastUid, now);
  }
}
