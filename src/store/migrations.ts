import type { Database } from 'better-sqlite3';
import { AWKWARD_CASES_INDEX, AWKWARD_CASES_INDEX_SQL, AWKWARD_CASES_INDEX_SQL_OF_MIGRATION_7, storedAwkwardCasesIndexSql } from './awkward-cases.js';
import type { Reason } from '../core/classification.js';
import { whyToPerson } from '../core/why-to-person.js';

/** The SQL name of whyToPerson, for migration 9's backfill of the cases logged before it. */
const WHY_TO_PERSON_FUNCTION = 'pcn_why_to_person';

/**
 * Schema migrations, applied in order at start-up inside one transaction each. Never edit a
 * migration that has shipped: add a new one, so an upgraded install keeps its database.
 * Times are integer milliseconds since the epoch (UTC): cheap to index and compare at 1M cases.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'cases, events, cursors, passes, lease, bounces',
    sql: `
      CREATE TABLE cases (
        id               INTEGER PRIMARY KEY,
        message_key      TEXT NOT NULL UNIQUE,
        message_id       TEXT,
        mailbox          TEXT,
        uid_validity     TEXT,
        uid              INTEGER,
        received_at      INTEGER NOT NULL,
        from_address     TEXT,
        from_name        TEXT,
        organisation_id  TEXT,
        organisation     TEXT,
        subject          TEXT,
        excerpt          TEXT,
        body             TEXT,
        category         TEXT NOT NULL,
        action           TEXT NOT NULL,
        confidence       REAL NOT NULL,
        autonomy         TEXT,
        status           TEXT NOT NULL,
        dry_run          INTEGER NOT NULL DEFAULT 0,
        urgent           INTEGER NOT NULL DEFAULT 0,
        reasons          TEXT NOT NULL,
        trace            TEXT,
        policy_version   TEXT NOT NULL,
        policy_hash      TEXT NOT NULL,
        thread_key       TEXT,
        reply_to_address TEXT,
        reply_message_id TEXT UNIQUE,
        reply_subject    TEXT,
        reply_text       TEXT,
        reply_html       TEXT,
        smtp_response    TEXT,
        note             TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        replied_at       INTEGER,
        purged_at        INTEGER
      );
      CREATE INDEX cases_received ON cases (received_at);
      CREATE INDEX cases_status ON cases (status, received_at);
      CREATE INDEX cases_reply_recipient ON cases (reply_to_address, replied_at) WHERE replied_at IS NOT NULL;
      CREATE INDEX cases_thread ON cases (thread_key) WHERE replied_at IS NOT NULL;
      CREATE TABLE case_events (
        id      INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id),
        at      INTEGER NOT NULL,
        status  TEXT NOT NULL,
        actor   TEXT NOT NULL,
        note    TEXT
      );
      CREATE INDEX case_events_case ON case_events (case_id);
      CREATE TABLE cursors (
        mailbox      TEXT PRIMARY KEY,
        uid_validity TEXT NOT NULL,
        last_uid     INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      );
      CREATE TABLE passes (
        id          INTEGER PRIMARY KEY,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        outcome     TEXT NOT NULL,
        dry_run     INTEGER NOT NULL,
        counts      TEXT,
        error       TEXT
      );
      CREATE TABLE lease (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE bounces (
        id       INTEGER PRIMARY KEY,
        address  TEXT NOT NULL,
        case_id  INTEGER,
        at       INTEGER NOT NULL,
        detail   TEXT
      );
      CREATE INDEX bounces_address ON bounces (address, at);
    `,
  },
  {
    version: 2,
    name: 'covering index for the LMC monthly report',
    // Every report aggregate reads only these columns over a received_at range: no table lookups.
    sql: `
      CREATE INDEX cases_report ON cases (received_at, dry_run, status, organisation, category);
    `,
  },
  {
    version: 3,
    name: 'indexes for the per-recipient and per-thread reply limits',
    // The limits are checked for every reply candidate and count decided/sending/would_reply rows,
    // which the partial indexes of migration 1 (replied_at IS NOT NULL) leave out: without these a
    // 10,000-message backlog scanned the whole table per message (quadratic).
    sql: `
      CREATE INDEX cases_recipient_created ON cases (reply_to_address, created_at);
      CREATE INDEX cases_thread_created ON cases (thread_key, created_at);
    `,
  },
  {
    version: 4,
    name: 'health incidents, for at most one alert e-mail per incident',
    sql: `
      CREATE TABLE health_incidents (
        id         INTEGER PRIMARY KEY,
        opened_at  INTEGER NOT NULL,
        alerted_at INTEGER,
        closed_at  INTEGER,
        problems   TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'messages to take out of the review folder after a person has decided',
    // The folder the message waits in, set by `review approve/reject/reclassify` and cleared by the
    // pass that moves it to the folder of its new status.
    sql: `
      ALTER TABLE cases ADD COLUMN refile_from TEXT;
      CREATE INDEX cases_refile ON cases (id) WHERE refile_from IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'reply-limit indexes that cover the status',
    // Every reply candidate counts the recipient's replies of the last day and looks for a reply in
    // its thread. Without the status in the index each of those rows was a table lookup: with a
    // generous per-sender limit a 10,000-message backlog spent seconds there (issue 7's profile).
    sql: `
      DROP INDEX cases_recipient_created;
      CREATE INDEX cases_recipient_created ON cases (reply_to_address, created_at, status);
      DROP INDEX cases_thread_created;
      CREATE INDEX cases_thread_created ON cases (thread_key, created_at, status);
    `,
  },
  {
    version: 7,
    name: 'the cases the audit export cannot copy as stored',
    // Usually empty: see awkward-cases.ts. On an existing log SQLite reads every case once to build it.
    sql: `${AWKWARD_CASES_INDEX_SQL_OF_MIGRATION_7};`,
  },
  {
    version: 8,
    name: 'replies in review whose delivery was not confirmed',
    // Every live pass asks for them (confirm-sent-replies.ts). Without this index the question read
    // every case in review, each on its own page: on a cold cache about 5 ms per thousand, on every
    // pass, idle ones included. Usually it holds nothing.
    sql: `CREATE INDEX cases_unconfirmed_replies ON cases (updated_at) WHERE status = 'review' AND reply_message_id IS NOT NULL;`,
  },
  {
    version: 9,
    name: 'why each case went to a person',
    // Cases logged before it get the key from their reasons, as the worker now sets it, if they ever
    // waited for a person (their events say so), whatever became of them since. The index covers the
    // monthly report's count of them, and holds only those cases.
    sql: `
      ALTER TABLE cases ADD COLUMN to_person TEXT;
      UPDATE cases SET to_person = ${WHY_TO_PERSON_FUNCTION}(category, reasons)
        WHERE id IN (SELECT case_id FROM case_events WHERE status IN ('review', 'awaiting_approval'));
      CREATE INDEX cases_to_person ON cases (received_at, dry_run, to_person, status) WHERE to_person IS NOT NULL;
    `,
  },
];

export function migrate(db: Database, now: number = Date.now()): number[] {
  db.function(WHY_TO_PERSON_FUNCTION, { deterministic: true }, (category: unknown, reasons: unknown) => {
    let parsed: unknown = [];
    try {
      parsed = JSON.parse(String(reasons));
    } catch {
      // reasons the worker did not write: the key falls back to the category
    }
    return whyToPerson(String(category), Array.isArray(parsed) ? (parsed as Array<Pick<Reason, 'gate' | 'rule'>>) : []);
  });
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((row) => row.version),
  );
  const ran: number[] = [];
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    // Asked again under the write lock: two processes opening a new log at once (the worker and a
    // command, or two workers) both saw it pending, and the one that waited must not run it twice.
    const done = db.transaction(() => {
      if (isApplied.get(migration.version)) return false;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        now,
      );
      return true;
    }).immediate();
    if (done) ran.push(migration.version);
  }
  keepAwkwardCasesIndexCurrent(db);
  return ran;
}

/**
 * A database with tables of its own and no schema_migrations table was not made by this program (a
 * case log gets schema_migrations before any other table): DATABASE_PATH names another program's
 * file, which must not be given the case log's tables. openDatabase asks before it changes anything.
 */
export function refuseAnotherDatabase(db: Database): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[];
  if (tables.length === 0 || tables.includes('schema_migrations')) return;
  throw new Error(`it is not a case log of pcn-autoreply but another database (tables ${tables.slice(0, 3).map((name) => `"${name}"`).join(', ')}); give a new file or an existing case log`);
}

/**
 * The awkward-cases index is derived from this version's code (awkward-cases.ts), not from the
 * log's history: a log last opened by a version that defined it otherwise gets it rebuilt to this
 * version's definition (one read of the log), since the audit export uses it only when the two
 * match and would otherwise test every case itself.
 */
function keepAwkwardCasesIndexCurrent(db: Database): void {
  const stored = storedAwkwardCasesIndexSql(db);
  if (stored === undefined || stored === AWKWARD_CASES_INDEX_SQL) return;
  db.transaction(() => {
    // Read again under the write lock: another process may have rebuilt it meanwhile.
    const now = storedAwkwardCasesIndexSql(db);
    if (now === undefined || now === AWKWARD_CASES_INDEX_SQL) return;
    db.exec(`DROP INDEX ${AWKWARD_CASES_INDEX}`);
    db.exec(AWKWARD_CASES_INDEX_SQL);
  }).immediate();
}
