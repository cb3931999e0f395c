import { closeSync, mkdirSync, openSync, chmodSync, existsSync, fsyncSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, refuseAnotherDatabase } from './migrations.js';

export type Db = Database.Database;

/** Page cache of a connection that writes (the worker, review, purge), in KiB. */
const WRITER_CACHE_KIB = 2000;

/**
 * Open (creating if needed) the case log. The file is created readable only by its owner (0600):
 * it holds subjects and excerpts of clinical mail. WAL lets `status` and `audit` read while the
 * worker writes; busy_timeout makes a second writer wait instead of failing at once.
 */
const PAGE_SIZE = 16384;

export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path, { readonly: options.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    // Before anything below changes the file: its mode, and the switch to WAL.
    try {
      refuseAnotherDatabase(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }
  if (path !== ':memory:' && process.platform !== 'win32') chmodSync(path, 0o600);
  if (!options.readonly) {
    // A new log gets 16 KB pages (SQLite's default is 4 KB; an existing file keeps its own): the
    // LMC's whole-log export reads every row, and a quarter of the page reads made it 10-15% faster
    // over a million cases (docs/benchmark-history.md). Only an empty file takes it, before WAL is switched on.
    db.pragma(`page_size = ${PAGE_SIZE}`);
    switchToWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection, which the worker fills as
    // the log grows (issue 7: RSS < 150 MB and flat). Its lookups touch the index tops and recent
    // rows; 2 MB holds those, and the rest comes from the OS file cache.
    db.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    migrate(db);
  }
  return db;
}

/**
 * Two processes opening a new log at the same moment (the worker and a command) may both hold a
 * shared lock and both ask for the exclusive one the switch to WAL needs: SQLite then answers one of
 * them "database is locked" at once, without waiting out busy_timeout (it would be a deadlock). By
 * the time it asks again the other has switched the file, and the switch is a no-op. The likely cause
 * of a "database is locked" seen once in CI under load (test/integration/migration-upgrade.test.ts);
 * not reproduced on demand.
 */
function switchToWal(db: Db): void {
  const giveUpAt = Date.now() + 5000;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() > giveUpAt) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/**
 * How much WAL the worker's connection lets build up before SQLite checkpoints it during a pass.
 * By default SQLite copies the WAL back into the database every 1,000 pages (16 MB here), in the
 * middle of whatever commit crosses the line, waiting for the disk: about 100 ms of a 10,000-case
 * pass, copying the same pages again and again (issue 7). The worker checkpoints once a pass is over
 * instead (checkpointAfterPass); this bound only matters for a pass of many thousands of messages.
 */
const WAL_BYTES_BEFORE_CHECKPOINT = 128 * 1024 * 1024;

/**
 * The worker's connection, for passes of many small writes:
 * - the WAL is checkpointed once a pass is over (checkpointAfterPass), not during it;
 * - statement and savepoint journals are kept in memory. The worker's batch no longer opens a
 *   savepoint per case (CaseStore.insertWithReply, transition), but a statement that may fail part
 *   way and a move that adds reasons still do, and SQLite copies the original of every page they
 *   touch (16 KB each) to that journal first: in a temporary file, that was 40 of the 80 us such an
 *   insert took (issue 7). Each journal holds only the pages of one case's statements.
 */
export function configureWorkerConnection(db: Db): void {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${Math.floor(WAL_BYTES_BEFORE_CHECKPOINT / pageSize)}`);
  // Once checkpointed, a large pass's WAL file shrinks back to this when it is next reused.
  db.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
  db.pragma('temp_store = MEMORY');
}

/**
 * Commits synced to disk from here on (SQLite `synchronous = FULL`), for a connection that marks
 * replies `sending` before handing them to SMTP (`review approve`). With `NORMAL` a commit survives
 * the process being killed but not the machine losing power or crashing: the mark could be lost
 * after the reply left, and the next pass would send it again. Outside a transaction only (SQLite
 * refuses it inside one).
 */
export function syncEveryCommit(db: Db): void {
  db.pragma('synchronous = FULL');
}

/**
 * Flushes what is committed in the WAL to disk: what `synchronous = FULL` does at every commit, done
 * only after the commits that mark replies `sending` (the worker's other commits, such as an old
 * inbox's thousands of cases, need not wait for the disk: 8% of that pass). About 0.5 ms here.
 */
export function syncCommittedWrites(db: Db): void {
  if (db.memory) return;
  let fd: number;
  try {
    fd = openSync(`${db.name}-wal`, 'r');
  } catch (error) {
    // Not in WAL mode (or not yet written): the commit went straight to the database file.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    fd = openSync(db.name, 'r');
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * syncCommittedWrites on libuv's thread pool: the worker goes on deciding the next messages while
 * the disk flushes (2-3 ms a flush on the servers measured, about 940 in a 10,000-message live pass:
 * a seventh of its main thread, blocked; issue 7). Whatever must wait for the commit to be on disk
 * (SMTP seeing its replies) waits for the promise. SQLite's later writes to the WAL meanwhile do not
 * matter: a flush covers at least everything written before it was asked for.
 */
export async function syncCommittedWritesAsync(db: Db): Promise<void> {
  if (db.memory) return;
  let file: FileHandle;
  try {
    file = await open(`${db.name}-wal`, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    file = await open(db.name, 'r');
  }
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Copies the WAL into the database; false when only part of it could be copied. Passive: with a
 * reader in the middle of a query (an `audit` export) SQLite copies what it can without waiting,
 * and the next pass copies the rest.
 */
export function checkpointAfterPass(db: Db): boolean {
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  return result !== undefined && result.busy === 0 && result.checkpointed === result.log;
}
