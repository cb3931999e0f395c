import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointAfterPass, configureWorkerConnection, openDatabase, syncCommittedWrites, type Db } from '../../src/store/open-database.js';

// The worker's connection copies the WAL back into the database file once a pass is over, not in
// the middle of it, and keeps its journals in memory (issue 7). What a user would notice: after a
// pass, the database file on its own (a backup that copies only cases.sqlite) holds every case;
// during a large pass, commits do not stop to copy the WAL. Real SQLite files, no fakes.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function freshLog(): { db: Db; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-wal-'));
  dirs.push(dir);
  const file = path.join(dir, 'cases.sqlite');
  const db = openDatabase(file);
  db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  db.pragma('wal_checkpoint(TRUNCATE)'); // the file alone has the table, and no rows
  return { db, file };
}

/** Rows in the database file alone, as a copy without its -wal file would show them. */
function rowsInFileAlone(file: string): number {
  const copy = `${file}.copy`;
  fs.copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n;
  } finally {
    db.close();
    fs.rmSync(copy, { force: true });
  }
}

const COMMITS = 100;
const ROWS_PER_COMMIT = 50;
const ROWS = COMMITS * ROWS_PER_COMMIT;

/** About 20 MB of rows in 100 commits: more WAL than SQLite's default 1,000 pages (16 MB) before it copies. */
function commitMany(db: Db): void {
  const insert = db.prepare('INSERT INTO filler (text) VALUES (?)');
  const text = 'x'.repeat(4096);
  for (let commit = 0; commit < COMMITS; commit++) {
    db.transaction(() => {
      for (let row = 0; row < ROWS_PER_COMMIT; row++) insert.run(`${commit}.${row} ${text}`);
    })();
  }
}

describe('the worker connection to the case log', () => {
  it('keeps its statement and savepoint journals in memory, not in temporary files', () => {
    const { db } = freshLog();
    expect(db.pragma('temp_store', { simple: true })).toBe(0);
    configureWorkerConnection(db);
    expect(db.pragma('temp_store', { simple: true })).toBe(2);
    db.close();
  });

  it('SQLite on its own copies the WAL into the file in the middle of a large pass', () => {
    const { db, file } = freshLog();
    commitMany(db);
    expect(rowsInFileAlone(file)).toBeGreaterThan(0);
    db.close();
  });

  it('defers the copy during a pass, and after the pass the file alone holds every row', () => {
    const { db, file } = freshLog();
    configureWorkerConnection(db);
    commitMany(db);
    expect(rowsInFileAlone(file)).toBe(0);
    expect(checkpointAfterPass(db)).toBe(true);
    expect(rowsInFileAlone(file)).toBe(ROWS);
    db.close();
  });

  it('copies what it can while a reader holds an older snapshot, without waiting for it', () => {
    const { db, file } = freshLog();
    configureWorkerConnection(db);
    commitMany(db);
    const reader = new Database(file, { readonly: true });
    const rows = reader.prepare('SELECT id FROM filler').iterate();
    rows.next(); // a read transaction stays open while the iterator is
    db.prepare('INSERT INTO filler (text) VALUES (?)').run('after the reader began');
    const started = Date.now();
    expect(checkpointAfterPass(db)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000); // busy_timeout is 5 s: a waiting checkpoint would show
    rows.return?.();
    reader.close();
    expect(checkpointAfterPass(db)).toBe(true);
    expect(rowsInFileAlone(file)).toBe(ROWS + 1);
    db.close();
  });

  it('flushes committed writes to disk whether they sit in the WAL, in a file not in WAL mode, or in memory', () => {
    const { db, file } = freshLog();
    commitMany(db);
    expect(() => syncCommittedWrites(db)).not.toThrow();
    db.close();
    const rollback = new Database(`${file}-rollback`);
    rollback.pragma('journal_mode = DELETE');
    rollback.exec('CREATE TABLE t (x)');
    expect(fs.existsSync(`${file}-rollback-wal`)).toBe(false);
    expect(() => syncCommittedWrites(rollback)).not.toThrow();
    rollback.close();
    const memory = new Database(':memory:');
    expect(() => syncCommittedWrites(memory)).not.toThrow();
    memory.close();
  });
});
