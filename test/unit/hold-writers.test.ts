import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { holdWriters } from '../../src/store/hold-writers.js';
import { openDatabase } from '../../src/store/open-database.js';

// The audit export holds the case log's writers back while its two threads begin reading, so
// that both read one state of the log (audit-parallel.ts). Real SQLite files in WAL mode.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function logFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-hold-'));
  dirs.push(dir);
  const file = path.join(dir, 'cases.sqlite');
  const db = openDatabase(file);
  db.exec('CREATE TABLE ticks (n INTEGER)');
  db.close();
  return file;
}

describe('holdWriters', () => {
  it('keeps every writer out until released, and no reader', () => {
    const file = logFile();
    const worker = new Database(file);
    worker.pragma('busy_timeout = 0');
    const held = holdWriters(file);
    expect(held).not.toBeNull();
    expect(() => worker.prepare('INSERT INTO ticks VALUES (1)').run()).toThrow(/database is locked/);
    expect(worker.prepare('SELECT count(*) AS n FROM ticks').get()).toEqual({ n: 0 });
    held!.release();
    held!.release();
    worker.prepare('INSERT INTO ticks VALUES (1)').run();
    expect(worker.prepare('SELECT count(*) AS n FROM ticks').get()).toEqual({ n: 1 });
    worker.close();
  });

  it('does without when a writer does not let go in time', () => {
    const file = logFile();
    const worker = new Database(file);
    worker.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    expect(holdWriters(file, 100)).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    worker.exec('ROLLBACK');
    const held = holdWriters(file, 100);
    expect(held).not.toBeNull();
    held!.release();
    worker.close();
  });

  it('does without, and creates nothing, when there is no log', () => {
    const file = path.join(path.dirname(logFile()), 'missing.sqlite');
    expect(holdWriters(file)).toBeNull();
    expect(fs.existsSync(file)).toBe(false);
  });
});
