import type { MailMessage } from '../core/message.js';
import type { MailSource } from '../mail/mail-source.js';
import type { ReplySender } from '../mail/reply-sender.js';
import { checkpointAfterPass } from '../store/open-database.js';
import type { PassCounts } from '../store/pass-log.js';
import { killSwitchCheck } from './kill-switch.js';
import { confirmSentReplies } from './confirm-sent-replies.js';
import { refileDecided } from './refile-decided.js';
import { runPass, type PassResult } from './run-pass.js';
import { workerLease, type WorkerContext } from './worker-context.js';

export interface ExecuteOptions {
  dryRun: boolean;
  mailFrom: string;
  killSwitchSetting: boolean;
  smtpMaxAttempts: number;
  smtpRetryDelayMs: number;
  batchSize?: number;
  clock?: () => Date;
  parse: (raw: Buffer) => Promise<MailMessage>;
  progress?: (done: number, total: number) => void;
  shouldStop?: () => boolean;
}

export class WorkerBusyError extends Error {
  constructor(readonly holder: string) {
    super(`another worker is already processing this mailbox (${holder}); this one exits without doing anything`);
    this.name = 'WorkerBusyError';
  }
}

/**
 * One pass with its bookkeeping: the lease (no two workers at once), the pass log for `status`,
 * and a clean close of the mailbox and SMTP connections whatever happens.
 */
export async function executePass(context: WorkerContext, source: MailSource, sender: ReplySender | null, options: ExecuteOptions): Promise<PassResult> {
  const { db, store, passLog, policy, templates, logger } = context;
  const clock = options.clock ?? (() => new Date());
  const lease = workerLease(db);
  const taken = lease.acquire(Date.now());
  if (!taken.acquired) throw new WorkerBusyError(taken.holder);
  const passId = passLog.start(clock().getTime(), options.dryRun);
  const started = Date.now();
  logger.info({ source: source.description, dryRun: options.dryRun, policyVersion: policy.data.policy.version }, 'pass started');
  try {
    const result = await runPass(
      {
        store,
        source,
        sender,
        policy,
        templates,
        parse: options.parse,
        clock,
        logger,
        progress: options.progress,
        shouldStop: options.shouldStop,
        heartbeat: () => {
          if (!lease.renew(Date.now())) throw new WorkerBusyError('a worker that took over after this one stalled');
        },
      },
      {
        dryRun: options.dryRun,
        mailFrom: options.mailFrom,
        killSwitch: killSwitchCheck(options.killSwitchSetting, policy.data.killSwitch),
        batchSize: options.batchSize ?? 250,
        smtpMaxAttempts: options.smtpMaxAttempts,
        smtpRetryDelayMs: options.smtpRetryDelayMs,
        actor: 'worker',
      },
    );
    if (!options.dryRun) {
      // The pass's own work is done and recorded: a failure here leaves the cases as they are, and
      // the messages where they are, marked, for the next pass.
      await confirmSentReplies(store, source, policy, clock().getTime(), logger).catch((error: Error) =>
        logger.warn({ err: { message: error.message } }, 'could not look in the Sent folder for replies whose delivery was not confirmed; they wait for a person'),
      );
      await refileDecided(store, source, policy, logger).catch((error: Error) =>
        logger.warn({ err: { message: error.message } }, 'could not move decided messages out of the review folder; the next pass tries again'),
      );
    }
    passLog.finish(passId, clock().getTime(), 'ok', result.counts);
    logger.info({ ...result.counts, idle: result.idle, stoppedEarly: result.stoppedEarly, ms: Date.now() - started }, 'pass finished');
    return result;
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    try {
      passLog.finish(passId, clock().getTime(), 'failed', {} as PassCounts, message);
    } catch {
      // The database itself may be what failed (disk full, locked): the log line below still tells.
    }
    logger.error({ err: { message, code: (error as { code?: string }).code } }, 'pass failed');
    throw error;
  } finally {
    await source.close().catch(() => undefined);
    await sender?.close().catch(() => undefined);
    try {
      lease.release();
    } catch {
      // An expired lease is recovered by the next worker anyway.
    }
    // After the mailbox is let go: the copy waits for the disk, and no one waits for it.
    try {
      const checkpointStarted = Date.now();
      const complete = checkpointAfterPass(db);
      logger.debug({ ms: Date.now() - checkpointStarted, complete }, 'case log checkpointed');
    } catch (error) {
      // Every case is committed in the WAL already; the next pass or command copies it back.
      logger.warn({ err: { message: (error as Error).message } }, 'could not checkpoint the case log after the pass');
    }
  }
}
