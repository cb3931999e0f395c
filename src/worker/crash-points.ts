/**
 * Named instants at which the fault-injection tests kill the worker (PCN_CRASH_AT=<name>), the
 * way databases test their recovery: the process dies with SIGKILL exactly there, nothing flushed.
 * Unset in normal use, where this is a single string comparison.
 */
export type CrashPoint = 'after-record' | 'after-sending' | 'after-smtp-accept' | 'before-move' | 'before-cursor';

const armed = process.env.PCN_CRASH_AT;

export function crashPoint(name: CrashPoint): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
