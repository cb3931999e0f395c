import type { Command } from 'commander';
import { formatCaseTrace } from '../report/case-trace.js';
import { auditTableHeader, auditTableLine } from '../report/audit-format.js';
import { openCaseLog } from '../report/open-case-log.js';
import { approvable, approveCase, reclassifyCase, rejectCase, ReviewRefusal, type ReviewContext } from '../report/review-actions.js';
import { waitingCases } from '../report/review-queue.js';
import { loadSettings, SettingsError, type Settings } from '../settings/load-settings.js';
import { CaseStore, caseReference } from '../store/case-store.js';
import { syncEveryCommit } from '../store/open-database.js';
import { loadPolicyAndTemplates, operatingUser } from '../worker/worker-context.js';
import { createSender } from './mail-adapters.js';
import { UserError } from './user-error.js';

interface ActionOptions {
  database?: string;
  policy?: string;
  by?: string;
  note?: string;
  outbox?: string;
  now?: string;
}

export function register(program: Command): void {
  const review = program.command('review').description('The cases the bot left for a person: list, show, approve, reject, reclassify.');
  const databaseOption = ['--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)'] as const;

  review
    .command('list')
    .description('Cases waiting for a person: URGENT first, then oldest first.')
    .option(...databaseOption)
    .action(async (options: { database?: string }) => {
      const db = await openCaseLog(options.database, { readonly: true });
      try {
        const rows = waitingCases(db);
        if (rows.length === 0) {
          process.stdout.write('No cases are waiting for review.\n');
          return;
        }
        process.stdout.write(`${rows.length} case(s) waiting (urgent first, then oldest first):\n`);
        process.stdout.write(auditTableHeader());
        for (const row of rows) process.stdout.write(auditTableLine(row));
      } finally {
        db.close();
      }
    });

  review
    .command('show')
    .description('Everything about one waiting case, with the reply that approval would send.')
    .argument('<id>', 'case reference (PCN-000123 or 123) or Message-ID')
    .option(...databaseOption)
    .action(async (id: string, options: { database?: string }) => {
      const db = await openCaseLog(options.database, { readonly: true });
      try {
        const store = new CaseStore(db);
        const row = store.find(id);
        if (!row) throw new UserError(`no case "${id}" in this database`, 1);
        process.stdout.write(formatCaseTrace(row, store.events(row.id)));
      } finally {
        db.close();
      }
    });

  withActionOptions(review.command('approve'))
    .description('Send the reply of a waiting case (exactly once); refused for urgent cases and non-hospital addresses.')
    .argument('<id>', 'case reference or Message-ID')
    .option('--outbox <dir>', 'write the reply as an .eml file into this folder instead of sending it by SMTP')
    .action(async (id: string, options: ActionOptions) => {
      // SMTP settings are asked for only once the case may be approved: "urgent, never answered"
      // must not hide behind "SMTP_HOST is not set".
      await withReviewContext(settingsFor(options, false), options, async (context) => {
        approvable(context, id);
        const sender = createSender(settingsFor(options, !options.outbox), options.outbox);
        try {
          const { row, response } = await approveCase(context, id, sender, options.note ?? null);
          process.stdout.write(`${caseReference(row.id)} replied to ${row.reply_to_address} (${response}).\n`);
        } finally {
          await sender.close();
        }
      });
    });

  withActionOptions(review.command('reject'))
    .description('Close a waiting case without a reply (filed), with a note saying why.')
    .argument('<id>', 'case reference or Message-ID')
    .action(async (id: string, options: ActionOptions) => {
      if (!options.note?.trim()) throw new UserError('review reject needs --note "why" (it is kept in the audit trail)');
      await withReviewContext(settingsFor(options, false), options, async (context) => {
        const row = rejectCase(context, id, options.note!);
        process.stdout.write(`${caseReference(row.id)} rejected and filed by ${context.actor}.\n`);
      });
    });

  withActionOptions(review.command('reclassify'))
    .description('Record the right category, then act as the policy says (a reply is held for approval, never sent silently).')
    .argument('<id>', 'case reference or Message-ID')
    .argument('<category>', 'category id, e.g. blood_test_request')
    .action(async (id: string, category: string, options: ActionOptions) => {
      await withReviewContext(settingsFor(options, false), options, async (context) => {
        const row = reclassifyCase(context, id, category, options.note ?? null);
        const next = row.status === 'awaiting_approval' ? ` Reply held: run "review approve ${caseReference(row.id)}" to send it.` : '';
        process.stdout.write(`${caseReference(row.id)} is now ${row.category} (${row.status}).${next}\n`);
      });
    });
}

function withActionOptions(command: Command): Command {
  return command
    .option('--by <name>', 'who is acting, for the audit trail (default: your login name)')
    .option('--note <text>', 'a note kept with the case')
    .option('--policy <file>', 'policy file (default: POLICY_FILE or config/policy.yaml)')
    .option('--database <file>', 'SQLite case log (default: DATABASE_PATH or data/pcn-autoreply.sqlite)')
    .option('--now <iso>', 'pretend it is this time (for trials and tests)');
}

function settingsFor(options: ActionOptions, smtp: boolean): Settings {
  const env = { ...process.env, ...(options.policy ? { POLICY_FILE: options.policy } : {}), ...(options.database ? { DATABASE_PATH: options.database } : {}) };
  try {
    return loadSettings(env, { smtp });
  } catch (error) {
    if (error instanceof SettingsError) throw new UserError(`${error.message}\n(see .env.example for every setting, or give --outbox DIR)`);
    throw error;
  }
}

async function withReviewContext(settings: Settings, options: ActionOptions, act: (context: ReviewContext) => Promise<void>): Promise<void> {
  const at = options.now ? new Date(options.now) : null;
  if (at && Number.isNaN(at.getTime())) throw new UserError(`--now must be a date and time such as 2026-11-20T09:00:00Z, not "${options.now}"`);
  const { policy, templates } = loadPolicyAndTemplates(settings.POLICY_FILE, settings.TEMPLATES_DIR);
  const db = await openCaseLog(settings.DATABASE_PATH, { readonly: false });
  // An approval marks the reply `sending` before SMTP sees it: that commit must survive a power cut.
  syncEveryCommit(db);
  try {
    const context: ReviewContext = {
      store: new CaseStore(db),
      policy,
      templates,
      mailFrom: settings.MAIL_FROM ?? policy.data.identity.mailbox,
      actor: options.by?.trim() || operatingUser(),
      clock: () => at ?? new Date(),
    };
    await act(context);
  } catch (error) {
    if (error instanceof ReviewRefusal) throw new UserError(error.message, 1);
    throw error;
  } finally {
    db.close();
  }
}
