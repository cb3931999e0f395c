import Database from 'better-sqlite3';

/** How long to wait for a writer in the middle of a transaction before doing without the hold. */
export const HOLD_WRITERS_WAIT_MS = 2000;

export interface WritersHeld {
  /** Lets the writers go again; safe to call more than once. */
  release(): void;
}

/**
 * Holds back every writer of a SQLite log in WAL mode for a moment: a connection of its own takes
 * the write lock (BEGIN IMMEDIATE) and writes nothing. Readers are not held: two connections that
 * begin their read transactions meanwhile read the log as it was at one and the same instant, which
 * SQLite gives no other way to arrange (better-sqlite3 has no snapshot API). A writer waits for the
 * release within its busy timeout, as it waits for any other writer.
 *
 * Null when the lock cannot be had: a log this user may only read, or a writer that does not let go
 * within `waitMs`. The caller then reads on one connection instead.
 */
export function holdWriters(path: string, waitMs = HOLD_WRITERS_WAIT_MS): WritersHeld | null {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma(`busy_timeout = ${waitMs}`);
    db.exec('BEGIN IMMEDIATE');
  } catch {
    db?.close();
    return null;
  }
  const held = db;
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        held.exec('ROLLBACK');
      } finally {
        held.close();
      }
    },
  };
}
