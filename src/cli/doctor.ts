import type { Command } from 'commander';
import { allPassed, formatChecklist } from '../doctor/checklist.js';
import { runDoctorChecks } from '../doctor/run-checks.js';
import { createLogger } from '../worker/logger.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Check everything the worker needs (settings, policy, database, IMAP, folders, SMTP, OAuth) and say how to fix what is wrong. Exits 0 only when all pass.')
    .option('--fix', 'create missing outcome folders in the mailbox (nothing else is changed)')
    .action(async (options: { fix?: boolean }) => {
      process.stdout.write('Checking pcn-autoreply (nothing is sent, no message is moved)...\n\n');
      const results = await runDoctorChecks({ env: process.env, logger: createLogger('warn'), fix: Boolean(options.fix), now: new Date() });
      process.stdout.write(formatChecklist(results));
      if (!allPassed(results)) process.exitCode = 1;
    });
}
