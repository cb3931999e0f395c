import { writeSync, writevSync } from 'node:fs';
import type { Command } from 'commander';
import type { AuditFilter } from '../report/audit-records.js';
import { auditCsvHeader, auditTableHeader } from '../report/audit-format.js';
import { auditChunks, type AuditFormat } from '../report/audit-sql.js';
import { CSV_BOM } from '../report/csv.js';
import { parseSince, parseUntil } from '../report/dates.js';
import { openCaseLog, userInput } from '../report/open-case-log.js';
import { CASE_STATUSES } from '../core/case-status.js';
import { CATEGORY_IDS } from '../policy/schema.js';
import { UserError } from './user-error.js';

const FORMATS = ['table', 'csv', 'json'] as const;

interface AuditOptions {
  database?: string;
  format: string;
  since?: string;
  until?: string;
  organisation?: string;
  category?: string;
  status?: string;
}

export function register(program: Command): void {
  program
    .command('audit')
    .description('Export the case log for the LMC (NHS numbers masked). Dates are UTC days: --since and --until both include the day given.')
    .option('--since <date>', 'first day to include, e.g. 2026-01-01')
    .option('--until <date>', 'last day to include, e.g. 2026-01-31 (a full timestamp is exclusive)')
    .option('--organisation <name>', 'one hospital trust, by name or policy id')
    .option('--category <id>', 'one category, e.g. blood_test_request')
    .option('--status <status>', `one status: ${CASE_STATUSES.join(', ')}`)
    .option('--format <format>', 'table, csv (Excel: UTF-8 with BOM) or json (JSON Lines)', 'table')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .action((options: AuditOptions) => {
      if (!(FORMATS as readonly string[]).includes(options.format)) throw new UserError(`--format must be table, csv or json, not "${options.format}"`);
      if (options.category && !(CATEGORY_IDS as readonly string[]).includes(options.category)) {
        throw new UserError(`--category "${options.category}" is not a category; use one of: ${CATEGORY_IDS.join(', ')}`);
      }
      if (options.status && !(CASE_STATUSES as readonly string[]).includes(options.status)) {
        throw new UserError(`--status "${options.status}" is not a status; use one of: ${CASE_STATUSES.join(', ')}`);
      }
      const filter: AuditFilter = {
        since: options.since === undefined ? undefined : userInput(() => parseSince(options.since!)),
        until: options.until === undefined ? undefined : userInput(() => parseUntil(options.until!)),
        organisation: options.organisation,
        category: options.category,
        status: options.status,
      };
      if (filter.since !== undefined && filter.until !== undefined && filter.until <= filter.since) {
        throw new UserError('--until is before --since: nothing can match');
      }
      const db = openCaseLog(options.database, { readonly: true });
      // The export walks the received_at index and fetches every row by id: through the memory map
      // each fetch set up its pages afresh (btreeInitPage was a tenth of a million-case export); the
      // page cache keeps the table's interior pages set up, and 8 MB holds them for a million cases.
      db.pragma('mmap_size = 0');
      db.pragma('cache_size = -8000');
      try {
        // SQLite prints the lines itself (audit-sql.ts), a range of cases per Buffer: JavaScript only writes them.
        const format = options.format as AuditFormat;
        const header = format === 'table' ? auditTableHeader() : format === 'csv' ? CSV_BOM + auditCsvHeader() : '';
        writeBuffered(Buffer.from(header, 'utf8'), auditChunks(db, format, filter));
      } finally {
        db.close();
      }
    });
}

/**
 * Writes the ranges' Buffers as they come, gathered (writev) until at least 64 KB: a table range is
 * about 35 KB, and a system call per few KB showed in system time. Stops when the reader has gone
 * (EPIPE: `audit | head`), instead of building the rest of the export for nobody.
 */
function writeBuffered(header: Buffer, chunks: Iterable<Buffer>): void {
  let batch: Buffer[] = header.length ? [header] : [];
  let size = header.length;
  for (const chunk of chunks) {
    batch.push(chunk);
    size += chunk.length;
    if (size >= 1 << 16) {
      if (!writeAll(batch, size)) return;
      batch = [];
      size = 0;
    }
  }
  if (size) writeAll(batch, size);
}

/** False when the reader has closed the pipe. */
function writeAll(buffers: Buffer[], size: number): boolean {
  let written = 0;
  while (written < size) {
    try {
      // After a short write, the rest goes as one buffer (rare: a pipe that took part of the batch).
      written += written === 0 ? writevSync(1, buffers) : writeSync(1, Buffer.concat(buffers).subarray(written));
    } catch (error) {
      // A pipe that is full right now (stdout set non-blocking by a parent): try again.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return false;
      throw error;
    }
  }
  return true;
}
