#!/usr/bin/env -S node --max-semi-space-size=1
import { Command, CommanderError } from 'commander';
import { databaseNotWritable, databaseUnreadable, outputNotWritable, outputNotWritableMessage, UserError } from './cli/user-error.js';

const program = new Command()
  .name('pcn-autoreply')
  .description(
    'Reads a PCN shared NHSmail inbox, answers hospital workload-shift requests with the LMC-approved reply, and logs every case.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Each command lives in src/cli/<name>.ts and registers itself. Only the module of the command being
// run is loaded (the mail, OAuth and parser libraries cost a second of start-up that `audit` or
// `status` should not pay); help, and anything unrecognised, load them all.
const COMMANDS: Record<string, () => Promise<{ register(program: Command): void }>> = {
  once: () => import('./cli/once.js'),
  run: () => import('./cli/run.js'),
  demo: () => import('./cli/demo.js'),
  audit: () => import('./cli/audit.js'),
  policy: () => import('./cli/policy-validate.js'),
  classify: () => import('./cli/classify.js'),
  eval: () => import('./cli/eval.js'),
  doctor: () => import('./cli/doctor.js'),
  status: () => import('./cli/status.js'),
  auth: () => import('./cli/auth.js'),
  review: () => import('./cli/review.js'),
  why: () => import('./cli/why.js'),
  report: () => import('./cli/report.js'),
  purge: () => import('./cli/purge.js'),
};

function modulesFor(argv: readonly string[]): Array<() => Promise<{ register(program: Command): void }>> {
  const requested = argv[2];
  const load = requested ? COMMANDS[requested] : undefined;
  return load ? [load] : Object.values(COMMANDS);
}

async function main(): Promise<void> {
  // stdout on a full disk (`audit > file`): the commands that print through process.stdout hear of it
  // in an 'error' event, which would otherwise end the process with Node's trace. Said once, and the
  // exit code is 1; the command itself goes on (a worker's pass is not cut short for its output).
  let outputFailed = false;
  process.stdout.on('error', (error) => {
    const code = outputNotWritable(error);
    if (code === undefined || outputFailed) return;
    outputFailed = true;
    process.stderr.write(outputNotWritableMessage(code));
    process.exitCode = 1;
  });
  for (const load of modulesFor(process.argv)) (await load()).register(program);
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
  // Any command that writes the case log (review, purge) may meet a full disk or the worker's lock.
  const code = databaseNotWritable(error);
  if (code !== undefined) {
    process.stderr.write(`pcn-autoreply: the database could not be written (${code}): free disk space or stop the other program using it, then try again\n`);
    return 1;
  }
  const output = outputNotWritable(error);
  if (output !== undefined) {
    process.stderr.write(outputNotWritableMessage(output));
    return 1;
  }
  const unreadable = databaseUnreadable(error);
  if (unreadable !== undefined) {
    process.stderr.write(`pcn-autoreply: the case log could not be read (${unreadable}: ${(error as Error).message}): the file is damaged; check DATABASE_PATH, or put back a copy taken while the worker was stopped\n`);
    return 1;
  }
  process.stderr.write(`pcn-autoreply: unexpected error (a bug; please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
  return 70;
}

await main();
