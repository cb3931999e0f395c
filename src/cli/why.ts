import type { Command } from 'commander';
import { formatCaseTrace } from '../report/case-trace.js';
import { openCaseLog } from '../report/open-case-log.js';
import { CaseStore } from '../store/case-store.js';
import { UserError } from './user-error.js';

export function register(program: Command): void {
  program
    .command('why')
    .description('Show the full decision trace of one case: headers, rules and words that fired, scores, policy, history, reply.')
    .argument('<id>', 'case reference (PCN-000123 or 123) or the hospital message\'s Message-ID')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .action(async (id: string, options: { database?: string }) => {
      const db = await openCaseLog(options.database, { readonly: true });
      try {
        const store = new CaseStore(db);
        const row = store.find(id);
        if (!row) throw new UserError(`no case "${id}" in this database (use a case reference such as PCN-000123 or a Message-ID)`, 1);
        process.stdout.write(formatCaseTrace(row, store.events(row.id)));
      } finally {
        db.close();
      }
    });
}
