import type { Command } from 'commander';
import cron from 'node-cron';
import { hiddenNow } from './once.js';
import { preparePass, summaryLine, type PassCommandOptions } from './pass-command.js';

export function register(program: Command): void {
  program
    .command('run')
    .description('Run the scheduled worker: a pass now, then one on every SCHEDULE tick, until stopped (SIGTERM/SIGINT).')
    .option('--dry-run', 'do everything but send and move')
    .option('--source <source>', 'imap (default) or dir:PATH')
    .option('--outbox <dir>', 'write replies as .eml files into this folder instead of sending them')
    .option('--policy <file>', 'policy file')
    .option('--database <file>', 'SQLite case log')
    .addOption(hiddenNow(program))
    .action(async (options: PassCommandOptions) => {
      const prepared = await preparePass(options);
      const { logger, settings } = prepared;
      let stopping = false;
      let current: Promise<void> | null = null;
      const pass = async () => {
        // No overlapping passes: a tick that arrives while one runs is skipped, not queued.
        if (current || stopping) return;
        current = prepared
          .run({ shouldStop: () => stopping })
          .then((result) => logger.info({ summary: summaryLine(result, Boolean(options.dryRun)) }, 'pass summary'))
          .catch((error: Error) => logger.error({ err: { message: error.message } }, 'pass could not run; will try again at the next tick'))
          .finally(() => {
            current = null;
          });
        await current;
      };
      const task = cron.schedule(settings.SCHEDULE, pass, { noOverlap: true, name: 'pcn-autoreply' });
      logger.info({ schedule: settings.SCHEDULE, dryRun: Boolean(options.dryRun) }, 'worker started');
      await new Promise<void>((resolve) => {
        const stop = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          logger.info({ signal }, 'stopping: finishing the message in hand');
          await task.stop();
          await current;
          await prepared.close();
          logger.info('worker stopped');
          resolve();
        };
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
        void pass();
      });
    });
}
