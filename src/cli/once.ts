import type { Command } from 'commander';
import { preparePass, summaryLine, type PassCommandOptions } from './pass-command.js';

export function register(program: Command): void {
  program
    .command('once')
    .description('Run one pass over the shared mailbox, then exit (0 when the pass completed, non-zero when it could not run).')
    .option('--dry-run', 'do everything but send and move: cases are logged as would_reply with the rendered reply')
    .option('--source <source>', 'where mail comes from: imap (default) or dir:PATH (a folder of .eml files)')
    .option('--outbox <dir>', 'write replies as .eml files into this folder instead of sending them')
    .option('--policy <file>', 'policy file (default: POLICY_FILE or config/policy.yaml)')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .addOption(hiddenNow(program))
    .action(async (options: PassCommandOptions) => {
      const prepared = await preparePass(options);
      try {
        const result = await prepared.run();
        process.stdout.write(`${summaryLine(result, Boolean(options.dryRun))}\n`);
      } finally {
        await prepared.close();
      }
    });
}

/** `--now` pins the clock: for the demo's dated sample inbox and for tests. */
export function hiddenNow(program: Command) {
  return program.createOption('--now <iso>', 'pretend the time is this (for the demo and tests)').hideHelp();
}
