import v8 from 'node:v8';
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import { MailSourceError } from '../mail/imap-source.js';
import { createParsePool } from '../mail/parse-pool.js';
import { loadSettings, SettingsError, type Settings } from '../settings/load-settings.js';
import { executePass, WorkerBusyError } from '../worker/execute-pass.js';
import { checkHealthAndAlert } from '../worker/health-alert.js';
import { createLogger } from '../worker/logger.js';
import type { PassResult } from '../worker/run-pass.js';
import { openWorkerContext } from '../worker/worker-context.js';
import { createSender, createSource, parseSourceOption, type TokenGetter } from './mail-adapters.js';
import { databaseNotWritable, UserError } from './user-error.js';

export interface PassCommandOptions {
  dryRun?: boolean;
  source?: string;
  outbox?: string;
  policy?: string;
  database?: string;
  now?: string;
  quiet?: boolean;
}

export interface PreparedPass {
  settings: Settings;
  logger: Logger;
  run: (control?: { shouldStop?: () => boolean }) => Promise<PassResult>;
  close: () => Promise<void>;
}

/** Everything `once`, `run` and `demo` share: settings, policy, database, adapters, one pass. */
export async function preparePass(options: PassCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<PreparedPass> {
  const source = parseSourceOption(options.source);
  const dryRun = Boolean(options.dryRun);
  if (dryRun && options.outbox) {
    // Silently ignored, it would leave an administrator looking for files that never come.
    throw new UserError('--outbox and --dry-run do not go together: a dry run writes no replies anywhere, it logs each one with its case (list them with "audit --status would_reply", read one with "why PCN-000123")');
  }
  const outbox = options.outbox ?? (source.kind === 'dir' && !dryRun ? 'data/outbox' : undefined);
  let settings: Settings;
  try {
    const overrides = { ...env, ...(options.policy ? { POLICY_FILE: options.policy } : {}), ...(options.database ? { DATABASE_PATH: options.database } : {}) };
    settings = loadSettings(overrides, { imap: source.kind === 'imap', smtp: !dryRun && !outbox });
  } catch (error) {
    if (error instanceof SettingsError) throw new UserError(`${error.message}\n(see .env.example for every setting)`);
    throw error;
  }
  boundHeapGrowth();
  const logger = createLogger(options.quiet ? 'warn' : settings.LOG_LEVEL);
  const context = openWorkerContext(settings, settings.POLICY_FILE, settings.TEMPLATES_DIR, logger);
  const clock = options.now ? fixedClock(options.now) : () => new Date();
  const mailFrom = settings.MAIL_FROM ?? context.policy.data.identity.mailbox;
  const token = await tokenGetterFor(settings, logger);
  // One parse thread: every body is parsed there, fast path included, while this thread keeps IMAP
  // and SQLite moving; each thread is its own V8 isolate (issue 7: RSS < 150 MB). It starts on the
  // first body to parse, not now.
  const pool = createParsePool(1, { parse: { checkMimeShape: true, onlyWhatTheWorkerReads: { keepWholeText: context.policy.data.logging.storeBodies } } });

  const run = async (control: { shouldStop?: () => boolean } = {}) => {
    busy = false;
    const progress = progressReporter(logger);
    try {
      return await executePass(context, createSource(settings, source, token, logger), dryRun ? null : createSender(settings, outbox, token), {
        dryRun,
        mailFrom,
        killSwitchSetting: settings.KILL_SWITCH,
        smtpMaxAttempts: settings.SMTP_MAX_ATTEMPTS,
        smtpRetryDelayMs: settings.SMTP_RETRY_DELAY_MS,
        clock,
        parse: (raw) => pool.parse(raw),
        progress: progress.update,
        shouldStop: control.shouldStop,
      });
    } catch (error) {
      busy = error instanceof WorkerBusyError;
      throw asUserError(error);
    } finally {
      progress.stop();
      // The worker that holds the mailbox judges health; one that found it busy has nothing to add.
      if (!busy) await alertIfUnhealthy();
    }
  };
  let busy = false;
  const alertIfUnhealthy = () =>
    checkHealthAndAlert({
      db: context.db,
      policy: context.policy,
      logger,
      now: clock(),
      mailFrom,
      createSender: () => (settings.SMTP_HOST || outbox ? createSender(settings, outbox, token) : null),
    }).catch((error: Error) => logger.error({ err: { message: error.message } }, 'the health check after the pass failed'));
  const close = async () => {
    await pool.close();
    context.db.close();
  };
  return { settings, logger, run, close };
}

/**
 * A pass allocates fast (IMAP literals, SQLite rows) but keeps little (about 30 MB live, heap
 * snapshots at 2,000 and 10,000 messages), and V8 by default lets the heap grow to several times
 * that before collecting: 130 MB of heap and 270 MB of RSS at 10,000 messages (issue 7: < 150 MB).
 * These two V8 settings are read at each collection, so they work when set at run time (the heap
 * size flags do not): the young generation stays at its initial size instead of doubling up to
 * 3 x 16 MB, and the old generation grows by 20% past what survives instead of up to 4x.
 */
function boundHeapGrowth(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=20');
}

/** OAuth tokens come from src/auth; loaded only when a setting asks for oauth2. */
async function tokenGetterFor(settings: Settings, logger: Logger): Promise<TokenGetter | undefined> {
  if (settings.IMAP_AUTH !== 'oauth2' && settings.SMTP_AUTH !== 'oauth2') return undefined;
  const { createTokenGetter } = await import('../auth/token-getter.js');
  return createTokenGetter(settings, logger);
}

export function asUserError(error: unknown): unknown {
  if (error instanceof MailSourceError) return new UserError(`${error.message}`, 1);
  if (error instanceof WorkerBusyError) return new UserError(error.message, 3);
  if (error instanceof UserError) return error;
  const code = databaseNotWritable(error);
  if (code !== undefined) {
    return new UserError(`the database could not be written (${code}): the pass stopped without losing state; free disk space or stop the other program using it`, 1);
  }
  return error;
}

export function summaryLine(result: PassResult, dryRun: boolean): string {
  const c = result.counts;
  if (result.idle && c.fetched === 0) return 'No new mail since the last pass.';
  const parts = [
    `fetched ${c.fetched}`,
    dryRun ? `would reply ${c.wouldReply}` : `replied ${c.replied}`,
    `review ${c.review}`,
    `awaiting approval ${c.awaitingApproval}`,
    `filed ${c.filed}`,
    `ignored ${c.ignored}`,
    `too old ${c.tooOld}`,
    `shadow ${c.shadowed}`,
    `already seen ${c.alreadySeen}`,
    `errors ${c.errors}`,
  ];
  return `${dryRun ? 'Dry run' : 'Pass'} ${result.stoppedEarly ? 'stopped early' : 'finished'}: ${parts.join(', ')}.`;
}

function fixedClock(iso: string): () => Date {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new UserError(`--now must be a date and time such as 2026-04-01T09:00:00Z, not "${iso}"`);
  return () => at;
}

/** A bar on a terminal; off a terminal (cron, systemd), a plain log line every few seconds. */
function progressReporter(logger: Logger): { update: (done: number, total: number) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    // Loaded only on a terminal: a service never draws a bar, so it need not hold the module.
    const progress = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
    let bar: cliProgress.SingleBar | null = null;
    return {
      update(done, total) {
        if (total < 200) return;
        if (!bar) {
          bar = new progress.SingleBar({ format: 'messages [{bar}] {value}/{total} {percentage}% eta {eta}s', stream: process.stderr, noTTYOutput: false }, progress.Presets.shades_classic);
          bar.start(total, 0);
        }
        bar.update(done);
      },
      stop() {
        bar?.stop();
      },
    };
  }
  let last = Date.now();
  return {
    update(done, total) {
      if (Date.now() - last >= 5000 || (done === total && total >= 1000)) {
        last = Date.now();
        logger.info({ done, total }, 'pass progress');
      }
    },
    stop() {},
  };
}
