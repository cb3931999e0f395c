import type { Command } from 'commander';
import { credentialWarningsFor } from '../auth/token-getter.js';
import { caseReference } from '../store/case-store.js';
import { describeWhyToPerson } from '../core/why-to-person.js';
import { hasColumn } from '../store/schema-info.js';
import { openCaseLog } from '../report/open-case-log.js';
import { loadSettings, SettingsError, type Settings } from '../settings/load-settings.js';
import { PassLog, type PassRow } from '../store/pass-log.js';
import { assessHealth } from '../worker/health.js';
import { loadPolicyOrExit } from './load-policy-or-exit.js';
import { UserError } from './user-error.js';
import { hiddenNow } from './once.js';

interface StatusOptions {
  database?: string;
  policy?: string;
  now?: string;
}

/** Exit code when the worker is unhealthy: distinct from 1 (could not look) so monitors can tell. */
export const UNHEALTHY_EXIT = 4;

export function register(program: Command): void {
  program
    .command('status')
    .description(`Show the last pass, cases waiting for a person, and credentials about to expire. Exits ${UNHEALTHY_EXIT} when the worker is unhealthy (for monitoring).`)
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .option('--policy <file>', 'policy file, for the health limits (default: POLICY_FILE or config/policy.yaml)')
    .addOption(hiddenNow(program))
    .action(async (options: StatusOptions) => {
      const now = options.now ? new Date(options.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new UserError(`--now must be a date and time such as 2026-04-01T09:00:00Z, not "${options.now}"`);
      const settings = settingsOrExit();
      const policy = loadPolicyOrExit(options.policy);
      const db = await openCaseLog(options.database ?? settings.DATABASE_PATH, { readonly: true });
      try {
        const passes = new PassLog(db).recent(50);
        const health = assessHealth(
          passes.map((row) => ({ startedAt: row.started_at, finishedAt: row.finished_at, outcome: row.outcome, error: row.error })),
          policy.data.health,
          now,
        );
        const waiting = db
          .prepare(
            `SELECT id, urgent, received_at, ${hasColumn(db, 'cases', 'to_person') ? 'to_person' : 'NULL AS to_person'} FROM cases
             WHERE status IN ('review', 'awaiting_approval') ORDER BY urgent DESC, received_at ASC`,
          )
          .all() as WaitingCase[];
        const oauth = settings.IMAP_AUTH === 'oauth2' || settings.SMTP_AUTH === 'oauth2';
        const warnings = oauth ? credentialWarningsFor(settings, now) : [];
        const lines = [
          `Worker: ${health.healthy ? 'healthy' : 'UNHEALTHY'}`,
          ...health.problems.map((problem) => `  ✗ ${problem}`),
          `Last pass: ${describePass(passes[0])}`,
          `Last successful pass: ${health.lastSuccessAt ? when(health.lastSuccessAt) : 'never'}`,
          `Consecutive failed passes: ${health.consecutiveFailures} (limit ${policy.data.health.maxConsecutiveFailures})`,
          ...describeWaiting(waiting),
          ...warnings.map((warning) => `  ! ${warning.message}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (!health.healthy || warnings.some((warning) => warning.level === 'expired')) process.exitCode = UNHEALTHY_EXIT;
      } finally {
        db.close();
      }
    });
}

function settingsOrExit(): Settings {
  try {
    return loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) throw new UserError(`${error.message}\n(see .env.example for every setting)`);
    throw error;
  }
}

function describePass(row: PassRow | undefined): string {
  if (!row) return 'none yet';
  const at = when(row.finished_at ?? row.started_at);
  const mode = row.dry_run ? ' (dry run)' : '';
  if (row.outcome === 'running') return `started ${when(row.started_at)}, still running${mode}`;
  if (row.outcome === 'failed') return `${at}, FAILED${mode}: ${row.error ?? 'no reason recorded'}`;
  const counts = row.counts ? (JSON.parse(row.counts) as Record<string, number>) : {};
  const shown = ['fetched', row.dry_run ? 'wouldReply' : 'replied', 'review', 'awaitingApproval', 'filed', 'ignored', 'errors']
    .map((key) => `${key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)} ${counts[key] ?? 0}`)
    .join(', ');
  return `${at}, ok${mode}: ${shown}`;
}

interface WaitingCase {
  id: number;
  urgent: number;
  received_at: number;
  /** Null in a log logged before the worker kept it (migration 9). */
  to_person: string | null;
}

function describeWaiting(waiting: WaitingCase[]): string[] {
  if (waiting.length === 0) return ['Waiting for a person: none'];
  const urgent = waiting.filter((row) => row.urgent);
  const oldest = waiting.reduce((a, b) => (b.received_at < a.received_at ? b : a));
  const byWhy = new Map<string, number>();
  for (const row of waiting) if (row.to_person) byWhy.set(row.to_person, (byWhy.get(row.to_person) ?? 0) + 1);
  const why = [...byWhy].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return [
    `Waiting for a person: ${waiting.length} (${urgent.length} urgent)`,
    ...(urgent.length ? [`  urgent first: ${urgent.slice(0, 10).map((row) => caseReference(row.id)).join(', ')}${urgent.length > 10 ? ', ...' : ''}`] : []),
    `  oldest: ${caseReference(oldest.id)}, received ${when(oldest.received_at)}`,
    ...(why.length ? ['  why:', ...why.map(([key, count]) => `    ${String(count).padStart(5)}  ${describeWhyToPerson(key)} (${key})`)] : []),
  ];
}

function when(ms: number): string {
  return new Date(ms).toLocaleString('en-GB', { timeZone: 'Europe/London', dateStyle: 'medium', timeStyle: 'short' });
}
