import { Worker } from 'node:worker_threads';
import type { Db } from '../store/open-database.js';
import type { AuditFilter } from './audit-records.js';
import { receivedRanges, type KeyRange } from './audit-ranges.js';
import { auditRangeBuilder, RANGE_ROWS, type AuditFormat } from './audit-sql.js';
import { BatchedWriter } from './audit-output.js';
import { holdWriters, type WritersHeld } from '../store/hold-writers.js';

/**
 * The audit export on both cores: SQLite builds a line per case in C at 2-3 µs each, so a whole
 * log of a million cases is seconds of one core's work. The ranges (audit-ranges.ts) are dealt in
 * groups, which this thread and a second one with its own read-only connection (audit-thread.ts)
 * take in turn as each is free: a counter in shared memory hands out the next group. Each side
 * writes a group when the one before it is out, so the output is the single-threaded export's,
 * byte for byte (test/integration/audit-parallel.test.ts). Taking the next free group, rather
 * than every other one, keeps both sides busy on a shared machine: with a fixed share, the side
 * that had been descheduled held up the other, which waited up to a second of a 3 s export; and
 * this thread works alone while the other starts (0.15 s).
 * A small export (a filtered month) stays on this thread: starting the other costs more than it saves.
 */

/** Cases per group: about 3 MB of JSON Lines held by each side at a time. */
export const GROUP_ROWS = 4096;
/** Below this many groups (65,536 cases in the dates asked for) the export stays on one thread: a thread costs about 0.1 s to start. */
export const PARALLEL_MIN_GROUPS = 16;

/** How the thread's failures begin (an error crosses threads as its message): the CLI tells the user. */
export const THREAD_FAILURE = 'audit export thread: ';

/** Int32 slots shared by both sides: the group whose turn it is to be written, a stop flag, the next group to take, how many the thread built, and whether it is reading. */
export const TURN = 0;
export const STOP = 1;
export const NEXT = 2;
export const BUILT_BY_THREAD = 3;
/** Set to 1 by the thread once its read transaction has begun. */
export const THREAD_READING = 4;
const SHARED_SLOTS = 5;
export const STOP_READER_GONE = 1;
export const STOP_FAILED = 2;

/** What the thread is started with; the groups follow in a message, once cut. */
export interface ThreadJob {
  databasePath: string;
  format: AuditFormat;
  filter: AuditFilter;
  shared: Int32Array;
  fd: number;
}

export interface ExportOptions {
  databasePath: string;
  format: AuditFormat;
  filter: AuditFilter;
  /** Written first (the CSV header with its BOM, the table's heading). */
  header: Buffer;
  fd?: number;
  /** Test hook: the least number of groups that takes the second thread. */
  parallelMinGroups?: number;
  /** Test hook: this thread takes no more than so many groups, and the other thread the rest. */
  groupsTakenHere?: number;
}

/** How the export was shared: groups in all, and how many the second thread built (0 on one thread). */
export interface ExportShare {
  groups: number;
  builtByThread: number;
}

export async function writeAuditExport(db: Db, options: ExportOptions): Promise<ExportShare> {
  const minGroups = options.parallelMinGroups ?? PARALLEL_MIN_GROUPS;
  // Under tsx or vitest the thread's module is TypeScript, which a worker thread cannot load.
  const twoThreads = !import.meta.url.endsWith('.ts') && hasGroups(db, options.filter, minGroups);
  // The export is the log as it was at one instant, whoever writes to it meanwhile (the worker,
  // review, purge): every range is read in one read transaction, and the other thread begins its
  // own while the writers are held back, so both read the same state. A log this user may only
  // read (or a writer that will not let go) is exported on this thread alone, slower but whole.
  const writersHeld = twoThreads ? holdWriters(options.databasePath) : null;
  db.exec('BEGIN');
  try {
    return writersHeld ? await exportOnTwoThreads(db, options, writersHeld) : exportOnOneThread(db, options);
  } finally {
    writersHeld?.release();
    if (db.inTransaction) db.exec('COMMIT');
  }
}

/** Whether the filter's dates hold at least `groups` groups of cases (stops counting there). */
function hasGroups(db: Db, filter: AuditFilter, groups: number): boolean {
  const cutting = receivedRanges(db, filter, GROUP_ROWS);
  for (let count = 0; count < groups; count++) if (cutting.next().done) return false;
  return true;
}

function exportOnOneThread(db: Db, options: ExportOptions): ExportShare {
  const writer = new BatchedWriter(options.fd ?? 1);
  const build = auditRangeBuilder(db, options.format, options.filter);
  const share = { groups: 0, builtByThread: 0 };
  if (options.header.length && !writer.push(options.header)) return share;
  for (const group of receivedRanges(db, options.filter, GROUP_ROWS)) {
    share.groups++;
    for (const lines of buildGroup(db, build, options.filter, group)) if (!writer.push(lines)) return share;
  }
  writer.flush();
  return share;
}

async function exportOnTwoThreads(db: Db, options: ExportOptions, writersHeld: WritersHeld): Promise<ExportShare> {
  const fd = options.fd ?? 1;
  // The thread starts (0.15 s: its modules, its connection, its read transaction) while this one
  // cuts the groups; the ranges within each are cut by the side that builds it.
  const shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  const job: ThreadJob = { databasePath: options.databasePath, format: options.format, filter: options.filter, shared, fd };
  const thread = new Worker(new URL('./audit-thread.js', import.meta.url), { workerData: job });
  let groups: KeyRange[];
  let build: (range: KeyRange) => Buffer | null;
  try {
    groups = [...receivedRanges(db, options.filter, GROUP_ROWS)];
    build = auditRangeBuilder(db, options.format, options.filter);
  } catch (error) {
    await thread.terminate();
    throw error;
  }
  const threadEnded = new Promise<void>((resolve, reject) => {
    thread.once('error', reject);
    thread.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the audit export thread stopped with exit code ${code}`))));
  });
  // However the thread ends, this side must not wait for a turn that will never come.
  threadEnded.then(
    () => undefined,
    () => stopExport(shared, STOP_FAILED),
  );
  // The writers wait only until the other thread has begun its read transaction, and nothing is
  // written before: a reader that stops reading (a pager) must not hold the worker up.
  await waitUntilThreadReads(shared);
  writersHeld.release();
  const share = { groups: groups.length, builtByThread: 0 };
  const writer = new BatchedWriter(fd);
  if (!(writer.push(options.header) && writer.flush())) {
    await thread.terminate();
    return share;
  }
  thread.postMessage(groups);
  try {
    const waitHere = (group: number): Promise<boolean> => waitForTurn(shared, group);
    await exportSide({ db, build, filter: options.filter, groups, shared, fd, waitForTurn: waitHere, maxGroups: options.groupsTakenHere });
  } catch (error) {
    // The thread stops at its next turn instead of waiting for one that will never come.
    stopExport(shared, STOP_FAILED);
    await threadEnded.catch(() => undefined);
    throw error;
  }
  await threadEnded;
  return { ...share, builtByThread: Atomics.load(shared, BUILT_BY_THREAD) };
}

/**
 * How far past the group being written a side may take one: up to 8 groups (about 24 MB of JSON
 * Lines) built and waiting, so that a side descheduled for a moment does not stop the other.
 */
export const GROUPS_AHEAD = 8;

export interface ExportSide {
  db: Db;
  build: (range: KeyRange) => Buffer | null;
  filter: AuditFilter;
  groups: readonly KeyRange[];
  shared: Int32Array;
  fd: number;
  /** Resolves true once the group being written is `group` or a later one, false when the export has stopped. */
  waitForTurn(group: number): boolean | Promise<boolean>;
  /** The most groups this side takes (a test hook). */
  maxGroups?: number;
}

/**
 * One side of the parallel export: takes the next group, builds it, and writes the groups it has
 * built in their turn. Returns when no group is left to take and its own are out, or the export
 * has stopped. A side writes what is due before it waits, and the group being written is always
 * one a side holds or is building, so neither waits for the other for ever. Answers how many
 * groups this side built.
 */
export async function exportSide(side: ExportSide): Promise<number> {
  const { shared, fd } = side;
  const built: Array<{ group: number; chunks: Buffer[] }> = [];
  let taken = 0;
  // Writes what is due; false when the export has stopped (this side's reader gone, or the other side).
  const writeDue = (): boolean => {
    while (built.length && Atomics.load(shared, TURN) === built[0]!.group) {
      const { group, chunks } = built.shift()!;
      if (!writeGroup(fd, chunks, shared, group)) return false;
    }
    return Atomics.load(shared, STOP) === 0;
  };
  while (taken < (side.maxGroups ?? Infinity)) {
    if (!writeDue()) return taken;
    // The next group to take, once it is within reach of the one being written.
    const next = Atomics.load(shared, NEXT);
    if (next >= side.groups.length) break;
    if (next >= Atomics.load(shared, TURN) + GROUPS_AHEAD) {
      if (!(await side.waitForTurn(Math.min(built[0]?.group ?? next, next - GROUPS_AHEAD + 1)))) return taken;
      continue;
    }
    if (Atomics.compareExchange(shared, NEXT, next, next + 1) !== next) continue;
    built.push({ group: next, chunks: buildGroup(side.db, side.build, side.filter, side.groups[next]!) });
    taken++;
  }
  while (built.length) if (!((await side.waitForTurn(built[0]!.group)) && writeDue())) return taken;
  return taken;
}

/** The lines of one group's cases, a Buffer per range, in order. */
export function buildGroup(db: Db, build: (range: KeyRange) => Buffer | null, filter: AuditFilter, group: KeyRange): Buffer[] {
  const chunks: Buffer[] = [];
  for (const range of receivedRanges(db, filter, RANGE_ROWS, group)) {
    const lines = build(range);
    if (lines) chunks.push(lines);
  }
  return chunks;
}

/** Writes a group in its turn and passes the turn on; false when the export must stop (the reader has gone). */
export function writeGroup(fd: number, chunks: Buffer[], shared: Int32Array, group: number): boolean {
  const writer = new BatchedWriter(fd);
  const written = chunks.every((chunk) => writer.push(chunk)) && writer.flush();
  if (!written) stopExport(shared, STOP_READER_GONE);
  Atomics.store(shared, TURN, group + 1);
  Atomics.notify(shared, TURN);
  return written;
}

/**
 * Either side's connection to the case log for the export. The export walks the received_at index
 * and fetches every row by id: through the memory map each fetch set up its pages afresh
 * (btreeInitPage was a tenth of a million-case export); the page cache keeps the table's interior
 * pages set up, and 8 MB holds them for a million cases.
 */
export function tuneForExport(db: Db): Db {
  db.pragma('mmap_size = 0');
  db.pragma('cache_size = -8000');
  return db;
}

export function stopExport(shared: Int32Array, why: number): void {
  Atomics.compareExchange(shared, STOP, 0, why);
  Atomics.notify(shared, TURN);
  Atomics.notify(shared, THREAD_READING);
}

/** In Node since 16; TypeScript's lib has it from ES2024 only. */
interface AtomicsWithWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

/**
 * Waits, without blocking this thread's events (the other thread's exit among them), until slot
 * `index` reaches `atLeast`; false when the export has stopped first (stopExport wakes both slots).
 */
async function waitForSlot(shared: Int32Array, index: number, atLeast: number): Promise<boolean> {
  for (;;) {
    if (Atomics.load(shared, STOP) !== 0) return false;
    const value = Atomics.load(shared, index);
    if (value >= atLeast) return true;
    const waiting = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(shared, index, value);
    if (waiting.async) await waiting.value;
  }
}

/** Until the other thread has begun its read transaction, or the export has stopped. */
const waitUntilThreadReads = (shared: Int32Array): Promise<boolean> => waitForSlot(shared, THREAD_READING, 1);

/** Until `group` or a later one is being written; false when the export has stopped. */
const waitForTurn = (shared: Int32Array, group: number): Promise<boolean> => waitForSlot(shared, TURN, group);
