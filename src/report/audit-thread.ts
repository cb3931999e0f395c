import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { auditRangeBuilder } from './audit-sql.js';
import type { KeyRange, SortKey } from './audit-ranges.js';
import { BUILT_BY_THREAD, exportSide, tuneForExport, STOP, STOP_FAILED, stopExport, THREAD_FAILURE, THREAD_READING, TURN, type ThreadJob } from './audit-parallel.js';

// The second thread of the parallel audit export (audit-parallel.ts): it takes groups of ranges as
// it is free, and writes each when the group before it is out.
const job = workerData as ThreadJob;
const { shared } = job;
try {
  // The main thread has the file open already: this one must not create it (openDatabase would).
  const db = tuneForExport(new Database(job.databasePath, { readonly: true, fileMustExist: true }));
  db.pragma('busy_timeout = 5000');
  try {
    // The main thread holds the log's writers back until this read transaction has begun, so both
    // threads read the log as it was at the same instant (audit-parallel.ts).
    db.exec('BEGIN');
    db.prepare('SELECT 1 FROM cases LIMIT 1').get();
    Atomics.store(shared, THREAD_READING, 1);
    Atomics.notify(shared, THREAD_READING);
    const build = auditRangeBuilder(db, job.format, job.filter);
    const [cut] = (await once(parentPort!, 'message')) as [KeyRange[]];
    const groups = cut.map(asBound);
    Atomics.store(shared, BUILT_BY_THREAD, await exportSide({ db, build, filter: job.filter, groups, shared, fd: job.fd, waitForTurn }));
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
  }
} catch (error) {
  stopExport(shared, STOP_FAILED);
  // A SqliteError reaches the main thread as its code alone: its message is what the user needs.
  throw error instanceof Error ? Object.assign(new Error(`${THREAD_FAILURE}${error.message}`), { code: (error as { code?: unknown }).code }) : error;
}

function waitForTurn(group: number): boolean {
  for (;;) {
    if (Atomics.load(shared, STOP) !== 0) return false;
    const turn = Atomics.load(shared, TURN);
    if (turn >= group) return true;
    Atomics.wait(shared, TURN, turn);
  }
}

/** A key as the main thread bound it: a Buffer arrives as a plain Uint8Array, which SQLite would not bind as a BLOB. */
function asBound(range: KeyRange): KeyRange {
  const key = (sortKey: SortKey): SortKey => {
    const at: unknown = sortKey[0];
    return at instanceof Uint8Array && !Buffer.isBuffer(at) ? [Buffer.from(at.buffer, at.byteOffset, at.byteLength), sortKey[1]] : sortKey;
  };
  return range.to === undefined ? { from: key(range.from) } : { from: key(range.from), to: key(range.to) };
}
