import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CSV_BOM, csvRow } from '../report/csv.js';
import { parseMonth } from '../report/dates.js';
import { figuresAsRows, monthlyFigures } from '../report/monthly-figures.js';
import { renderMonthlyHtml } from '../report/monthly-html.js';
import { openCaseLog, userInput } from '../report/open-case-log.js';
import { UserError } from './user-error.js';

const FORMATS = ['html', 'csv', 'json'] as const;

export function register(program: Command): void {
  program
    .command('report')
    .description('The monthly LMC report: cases per trust and category, 12-month trend, outcomes, replies, time to reply.')
    .requiredOption('--month <yyyy-mm>', 'the month, e.g. 2026-11 (UTC)')
    .option('--format <format>', 'html (printable, self-contained), csv or json', 'html')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--include-dry-run', 'count dry-run previews too (left out by default)')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .action(async (options: { month: string; format: string; out?: string; includeDryRun?: boolean; database?: string }) => {
      if (!(FORMATS as readonly string[]).includes(options.format)) throw new UserError(`--format must be html, csv or json, not "${options.format}"`);
      const range = userInput(() => parseMonth(options.month));
      const db = await openCaseLog(options.database, { readonly: true });
      let output: string;
      try {
        const figures = monthlyFigures(db, range, { includeDryRun: options.includeDryRun });
        if (options.format === 'json') output = `${JSON.stringify(figures, null, 2)}\n`;
        else if (options.format === 'csv') output = CSV_BOM + figuresAsRows(figures).map(csvRow).join('');
        else output = renderMonthlyHtml(figures, { title: `Hospital workload-shift requests: ${range.month}`, generatedAt: new Date() });
      } finally {
        db.close();
      }
      if (options.out) {
        try {
          writeFileSync(options.out, output);
        } catch (error) {
          throw new UserError(`cannot write the report to ${options.out}: ${(error as Error).message}`, 1);
        }
        process.stderr.write(`Report for ${range.month} written to ${options.out}\n`);
      } else process.stdout.write(output);
    });
}
