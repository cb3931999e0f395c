#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { UserError } from './cli/user-error.js';

const program = new Command()
  .name('pcn-autoreply')
  .description(
    'Reads a PCN shared NHSmail inbox, answers hospital workload-shift requests with the LMC-approved reply, and logs every case.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Each command lives in src/cli/<name>.ts and registers itself here.
const registrations: Array<() => Promise<{ register(program: Command): void }>> = [
  // COMMANDS: one line per command module
  () => import('./cli/once.js'),
  () => import('./cli/run.js'),
  () => import('./cli/demo.js'),
  () => import('./cli/audit.js'),
  () => import('./cli/policy-validate.js'),
  () => import('./cli/classify.js'),
  () => import('./cli/eval.js'),
  () => import('./cli/doctor.js'),
  () => import('./cli/status.js'),
  () => import('./cli/auth.js'),
  () => import('./cli/review.js'),
  () => import('./cli/why.js'),
  () => import('./cli/report.js'),
  () => import('./cli/purge.js'),
];

async function main(): Promise<void> {
  for (const load of registrations) (await load()).register(program);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are not failures; usage errors exit 2 with commander's one-line reason.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UserError) {
    process.stderr.write(`pcn-autoreply: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`pcn-autoreply: unexpected error (a bug; please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
  return 70;
}

await main();
