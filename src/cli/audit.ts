import type { Command } from 'commander';
import type { Db } from '../store/open-database.js';
import type { AuditFilter } from '../report/audit-records.js';
import { auditCsvHeader, auditTableHeader } from '../report/audit-format.js';
import type { AuditFormat } from '../report/audit-sql.js';
import { THREAD_FAILURE, tuneForExport, writeAuditExport } from '../report/audit-parallel.js';
import { CSV_BOM } from '../report/csv.js';
import { parseSince, parseUntil } from '../report/dates.js';
import { caseLogPath, openCaseLog, userInput } from '../report/open-case-log.js';
import { CASE_STATUSES } from '../core/case-status.js';
import { CATEGORY_IDS } from '../policy/category-ids.js';
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
    .action(async (options: AuditOptions) => {
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
      const databasePath = await caseLogPath(options.database);
      const db = tuneForExport(await openCaseLog(databasePath, { readonly: true }));
      try {
        // SQLite prints the lines itself (audit-sql.ts), a range of cases per Buffer, on both cores
        // for a large log (audit-parallel.ts): JavaScript only writes them.
        const format = options.format as AuditFormat;
        const header = format === 'table' ? auditTableHeader() : format === 'csv' ? CSV_BOM + auditCsvHeader() : '';
        await writeAuditExport(db, { databasePath, format, filter, header: Buffer.from(header, 'utf8') }).catch((error: Error) => {
          // The export's second thread opens the file again: moved or deleted meanwhile, it says so.
          if (error.message.startsWith(THREAD_FAILURE)) throw new UserError(`cannot read the case log ${databasePath}: ${error.message.slice(THREAD_FAILURE.length)}`, 1);
          throw error;
        });
        if (filter.organisation !== undefined) {
          const unknown = unknownOrganisationNote(db, filter.organisation);
          if (unknown) process.stderr.write(`${unknown}\n`);
        }
      } finally {
        db.close();
      }
    });
}

/**
 * An organisation no case in the log is from (a typing slip, or a trust with no case yet): the export
 * is empty, as asked, and this note says why and which organisations the log holds. The first query
 * stops at the first case found, so a name that is in the log costs next to nothing; only a name that
 * is not reads the whole log.
 */
export function unknownOrganisationNote(db: Db, organisation: string): string | undefined {
  const known = db.prepare('SELECT 1 FROM cases WHERE organisation = @o COLLATE NOCASE OR organisation_id = @o COLLATE NOCASE LIMIT 1').get({ o: organisation });
  if (known !== undefined) return undefined;
  const inLog = db
    .prepare("SELECT organisation_id AS id, organisation AS name FROM cases WHERE organisation IS NOT NULL GROUP BY organisation_id, organisation ORDER BY organisation")
    .all() as Array<{ id: string | null; name: string }>;
  const names = inLog.map((row) => (row.id ? `${row.id} (${row.name})` : row.name));
  return `note: no case in this log is from "${organisation}"; ${names.length ? `its organisations: ${names.join(', ')}` : 'no case in it is from a listed hospital'}`;
}

