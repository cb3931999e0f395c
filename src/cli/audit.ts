import { writeSync } from 'node:fs';
import type { Command } from 'commander';
import { auditRows, type AuditFilter } from '../report/audit-records.js';
import { auditCsvHeader, auditTableHeader, auditTableLine } from '../report/audit-format.js';
import { auditLines } from '../report/audit-sql.js';
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
      try {
        if (options.format === 'table') writeBuffered(auditTableHeader(), auditRows(db, filter, 'table'), auditTableLine);
        else {
          // SQLite prints each JSON or CSV line itself (audit-sql.ts): JavaScript only joins and writes them.
          const format = options.format as 'json' | 'csv';
          writeBuffered(format === 'csv' ? CSV_BOM + auditCsvHeader() : '', auditLines(db, format, filter), (line) => line);
        }
      } finally {
        db.close();
      }
    });
}

/**
 * Writes in ~64 KB chunks with synchronous writes: a million small writes would cost seconds, and
 * chunks of 1 MB cost more still (each string and buffer that large is mapped and unmapped afresh:
 * 2.4 s of system time over a million JSON lines, against 0.2 s at 64 KB).
 */
function writeBuffered<Row>(header: string, rows: Iterable<Row>, line: (row: Row) => string): void {
  let chunk = header;
  for (const row of rows) {
    chunk += line(row);
    if (chunk.length > 1 << 16) {
      writeAll(chunk);
      chunk = '';
    }
  }
  if (chunk) writeAll(chunk);
}

function writeAll(text: string): void {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += writeSync(1, buffer, offset);
    } catch (error) {
      // A pipe that is full right now (stdout set non-blocking by a parent): try again.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw error;
    }
  }
}
