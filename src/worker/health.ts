/**
 * Is the worker healthy? Pure: the recent passes, the policy's health settings and the time in,
 * a verdict with plain reasons out. `status` prints it and exits non-zero when unhealthy, so a
 * monitor (or a person) notices that replies have stopped.
 */
import { ukLocalTime } from '../core/uk-time.js';

export interface PassSummary {
  startedAt: number;
  finishedAt: number | null;
  outcome: 'running' | 'ok' | 'failed';
  error: string | null;
}

export interface HealthRules {
  maxMinutesWithoutPass: number;
  /** 'HH:MM-HH:MM', UK local time (Europe/London), Monday to Friday. */
  workingHours: string;
  maxConsecutiveFailures: number;
}

export interface Health {
  healthy: boolean;
  problems: string[];
  consecutiveFailures: number;
  lastSuccessAt: number | null;
}

/** `passes` newest first, as PassLog.recent returns them. */
export function assessHealth(passes: readonly PassSummary[], rules: HealthRules, now: Date): Health {
  const problems: string[] = [];
  const finished = passes.filter((pass) => pass.outcome !== 'running');
  let consecutiveFailures = 0;
  for (const pass of finished) {
    if (pass.outcome !== 'failed') break;
    consecutiveFailures += 1;
  }
  const lastSuccess = finished.find((pass) => pass.outcome === 'ok');
  const lastSuccessAt = lastSuccess ? (lastSuccess.finishedAt ?? lastSuccess.startedAt) : null;

  if (consecutiveFailures >= rules.maxConsecutiveFailures) {
    const reason = finished[0]?.error ? `; the last said: ${finished[0].error}` : '';
    problems.push(`the last ${consecutiveFailures} passes failed (limit ${rules.maxConsecutiveFailures})${reason}`);
  }
  if (withinWorkingHours(now, rules.workingHours)) {
    const limitMs = rules.maxMinutesWithoutPass * 60_000;
    if (lastSuccessAt === null) problems.push('no pass has ever completed: run `pcn-autoreply doctor`, then start the worker');
    else if (now.getTime() - lastSuccessAt > limitMs) {
      const minutes = Math.floor((now.getTime() - lastSuccessAt) / 60_000);
      problems.push(`no pass has completed for ${minutes} minutes during working hours (limit ${rules.maxMinutesWithoutPass}): is the worker running?`);
    }
  }
  return { healthy: problems.length === 0, problems, consecutiveFailures, lastSuccessAt };
}

/** Weekdays between the two times, in UK local time whatever the server's own time zone. */
export function withinWorkingHours(now: Date, workingHours: string): boolean {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(workingHours);
  if (!match) return true;
  const local = ukLocalTime(now);
  if (local.weekday === 0 || local.weekday === 6) return false;
  const minutes = local.hour * 60 + local.minute;
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3]) * 60 + Number(match[4]);
  return minutes >= start && minutes < end;
}
