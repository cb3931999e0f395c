import type { Logger } from 'pino';
import type { RenderedReply } from '../core/render-reply.js';
import type { ReplySender } from '../mail/reply-sender.js';
import type { Policy } from '../policy/policy.js';
import type { Db } from '../store/open-database.js';
import { PassLog } from '../store/pass-log.js';
import { assessHealth, type Health } from './health.js';

export type AlertStep = { kind: 'open-and-alert'; problems: string[] } | { kind: 'alert-again-later' } | { kind: 'close' } | { kind: 'nothing' };

/**
 * What to do about health after a pass, given whether an incident is already open and alerted.
 * Pure. One alert per incident: an incident opens when the worker turns unhealthy and closes when it
 * is healthy again; an alert that could not be sent is tried again after the next pass.
 */
export function nextAlertStep(health: Health, open: { alerted: boolean } | null): AlertStep {
  if (health.healthy) return open ? { kind: 'close' } : { kind: 'nothing' };
  if (!open) return { kind: 'open-and-alert', problems: health.problems };
  return open.alerted ? { kind: 'nothing' } : { kind: 'alert-again-later' };
}

export interface AlertDeps {
  db: Db;
  policy: Policy;
  logger: Logger;
  now: Date;
  mailFrom: string;
  /** Null when no sender can be built (a dry run without SMTP settings): incidents are still logged. */
  createSender: () => ReplySender | null;
}

/** After each pass: assess health, and e-mail policy.health.alertTo once per incident. */
export async function checkHealthAndAlert(deps: AlertDeps): Promise<void> {
  const { db, policy, logger, now } = deps;
  const rules = policy.data.health;
  const passes = new PassLog(db).recent(50).map((row) => ({ startedAt: row.started_at, finishedAt: row.finished_at, outcome: row.outcome, error: row.error }));
  const health = assessHealth(passes, rules, now);
  const open = db.prepare('SELECT id, alerted_at FROM health_incidents WHERE closed_at IS NULL ORDER BY id DESC LIMIT 1').get() as
    | { id: number; alerted_at: number | null }
    | undefined;
  const step = nextAlertStep(health, open ? { alerted: open.alerted_at !== null } : null);
  if (step.kind === 'nothing') return;
  if (step.kind === 'close') {
    db.prepare('UPDATE health_incidents SET closed_at = ? WHERE id = ?').run(now.getTime(), open!.id);
    logger.info('the worker is healthy again; the incident is closed');
    return;
  }
  const incidentId =
    open?.id ?? Number(db.prepare('INSERT INTO health_incidents (opened_at, problems) VALUES (?, ?)').run(now.getTime(), JSON.stringify(health.problems)).lastInsertRowid);
  logger.error({ problems: health.problems }, 'the worker is unhealthy');
  if (!rules.alertTo) return;
  const sender = deps.createSender();
  if (!sender) return;
  try {
    await sender.send(alertMessage(deps.mailFrom, rules.alertTo, policy, health, incidentId, now));
    db.prepare('UPDATE health_incidents SET alerted_at = ? WHERE id = ?').run(now.getTime(), incidentId);
    logger.warn({ to: rules.alertTo }, 'alert e-mail sent');
  } catch (error) {
    logger.error({ err: { message: (error as Error).message } }, 'the alert e-mail could not be sent; it will be tried again after the next pass');
  } finally {
    await sender.close();
  }
}

function alertMessage(from: string, to: string, policy: Policy, health: Health, incidentId: number, now: Date): RenderedReply {
  const domain = from.split('@')[1] ?? 'localhost';
  const text = [
    `pcn-autoreply for ${policy.data.identity.alliance} is not healthy (${now.toISOString()}):`,
    '',
    ...health.problems.map((problem) => `  - ${problem}`),
    '',
    'Until this is fixed, hospital requests are not being answered automatically. On the worker\'s machine,',
    'run `pcn-autoreply status` and `pcn-autoreply doctor`: they say what is wrong and how to fix it.',
    '',
    'This is the only alert for this incident; the next one comes after the worker has been healthy again.',
  ].join('\n');
  return {
    from,
    to,
    subject: `pcn-autoreply is not healthy: ${health.problems[0] ?? 'see status'}`.slice(0, 200),
    messageId: `<pcn-autoreply.health-${incidentId}.${now.getTime()}@${domain}>`,
    inReplyTo: null,
    references: [],
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    text,
    html: `<pre style="font-family:inherit">${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`,
  };
}
