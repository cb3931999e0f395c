import type { Command } from 'commander';
import { auditRows, toAuditRecord } from '../report/audit-records.js';
import { openDatabase } from '../store/open-database.js';
import { loadSettings } from '../settings/load-settings.js';
import { UserError } from './user-error.js';

export function register(program: Command): void {
  program
    .command('audit')
    .description('Export the case log for the LMC: one JSON object per case per line.')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .option('--format <format>', 'json (JSON Lines)', 'json')
    .action((options: { database?: string; format: string }) => {
      if (options.format !== 'json') throw new UserError(`--format must be json, not "${options.format}"`);
      const path = options.database ?? loadSettings().DATABASE_PATH;
      const db = openDatabase(path, { readonly: true });
      try {
        for (const row of auditRows(db)) process.stdout.write(`${JSON.stringify(toAuditRecord(row))}\n`);
      } finally {
        db.close();
      }
    });
}
