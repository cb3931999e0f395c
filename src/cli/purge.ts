import type { Command } from 'commander';
import { cutoffFor, cutoffMonthsOrDays } from '../report/dates.js';
import { openCaseLog, userInput } from '../report/open-case-log.js';
import { countPurgeable, purgeOlderThan } from '../report/purge.js';
import { loadPolicyOrExit } from './load-policy-or-exit.js';
import { UserError } from './user-error.js';

export function register(program: Command): void {
  program
    .command('purge')
    .description("Retention: remove old cases' texts (subjects, excerpts, replies, notes), keeping the anonymous counts reports need.")
    .option('--older-than <age>', 'e.g. 24m (months), 730d (days), 2y; default: retention.months from the policy')
    .option('--dry-run', 'only say how many cases would be purged')
    .option('--policy <file>', 'policy file, for retention.months (default: POLICY_FILE or config/policy.yaml)')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .option('--now <iso>', 'pretend it is this time (for trials and tests)')
    .action(async (options: { olderThan?: string; dryRun?: boolean; policy?: string; database?: string; now?: string }) => {
      const now = options.now ? new Date(options.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new UserError(`--now must be a date and time such as 2026-11-20T09:00:00Z, not "${options.now}"`);
      const cutoff = options.olderThan
        ? userInput(() => cutoffFor(options.olderThan!, now))
        : cutoffMonthsOrDays(now, loadPolicyOrExit(options.policy).data.retention.months, 'm');
      const db = await openCaseLog(options.database, { readonly: Boolean(options.dryRun) });
      try {
        const before = new Date(cutoff).toISOString().slice(0, 10);
        if (options.dryRun) {
          process.stdout.write(`Would purge ${countPurgeable(db, cutoff)} case(s) received before ${before} (dry run: nothing changed).\n`);
          return;
        }
        const purged = purgeOlderThan(db, cutoff, now.getTime());
        process.stdout.write(`Purged ${purged} case(s) received before ${before}: texts removed, counts kept.\n`);
      } finally {
        db.close();
      }
    });
}
