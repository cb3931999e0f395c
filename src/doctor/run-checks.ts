import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { createTokenGetter, credentialWarningsFor } from '../auth/token-getter.js';
import type { AccessTokenGetter } from '../auth/cached-token.js';
import { createSender, createSource } from '../cli/mail-adapters.js';
import { UserError } from '../cli/user-error.js';
import { ImapSource, MailSourceError } from '../mail/imap-source.js';
import { SmtpSender } from '../mail/reply-sender.js';
import type { Policy } from '../policy/policy.js';
import { loadSettings, SettingsError, type Settings } from '../settings/load-settings.js';
import { openDatabase } from '../store/open-database.js';
import { loadPolicyAndTemplates } from '../worker/worker-context.js';
import { fail, pass, skipped, type CheckResult } from './checklist.js';
import { imapFix, smtpFix } from './imap-advice.js';

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Create missing outcome folders instead of only reporting them. */
  fix: boolean;
  now: Date;
}

/** Doctor waits at most this long for a server, so an unreachable host fails in seconds. */
const DOCTOR_TIMEOUT_MS = 20_000;
const WANTED_CAPABILITIES = ['MOVE', 'UIDPLUS', 'IDLE'];

/** Every check `doctor` makes, in order; a check whose prerequisite failed is skipped, not failed twice. */
export async function runDoctorChecks(options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let settings: Settings;
  try {
    settings = loadSettings(options.env, { imap: true, smtp: true });
    results.push(pass('Settings', settings.envFile ? `read from ${settings.envFile} and the environment` : 'read from the environment (no .env file)'));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    results.push(fail('Settings', error.problems.join('; '), 'set these in .env (see .env.example for every setting and what it means)'));
    return [...results, skipped('Everything else', 'the settings must be right first')];
  }
  settings = { ...settings, IMAP_TIMEOUT_MS: Math.min(settings.IMAP_TIMEOUT_MS, DOCTOR_TIMEOUT_MS) };

  let policy: Policy | null = null;
  try {
    policy = loadPolicyAndTemplates(settings.POLICY_FILE, settings.TEMPLATES_DIR).policy;
    results.push(pass('Policy and templates', `${settings.POLICY_FILE} (version ${policy.data.policy.version}) and ${settings.TEMPLATES_DIR}`));
  } catch (error) {
    results.push(fail('Policy and templates', policyProblem(error), `run \`pcn-autoreply policy validate ${settings.POLICY_FILE}\` and correct what it lists (POLICY_FILE, TEMPLATES_DIR)`));
  }

  results.push(checkDatabase(settings.DATABASE_PATH));

  const oauth = settings.IMAP_AUTH === 'oauth2' || settings.SMTP_AUTH === 'oauth2';
  let token: AccessTokenGetter | undefined;
  if (oauth) {
    const { result, getter } = await checkToken(settings, options);
    results.push(result);
    token = getter;
  }

  results.push(...(await checkImap(settings, policy, token, options.fix, oauth && !token)));
  results.push(await checkSmtp(settings, token, oauth && !token));
  return results;
}

function checkDatabase(path: string): CheckResult {
  const name = 'Database writable';
  const existed = existsSync(path);
  try {
    const db = openDatabase(path);
    try {
      // Takes the write lock without changing anything: proves the file and its folder are writable.
      db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } finally {
      db.close();
    }
    return pass(name, `${path}${existed ? '' : ' (created, schema current)'}`);
  } catch (error) {
    return fail(name, `${path}: ${firstLine(error)}`, 'check DATABASE_PATH, that its folder exists and that the user running pcn-autoreply may write to it (and the disk is not full)');
  }
}

async function checkToken(settings: Settings, options: DoctorOptions): Promise<{ result: CheckResult; getter?: AccessTokenGetter }> {
  const name = 'OAuth access token';
  try {
    const getter = await createTokenGetter(settings, options.logger);
    await getter();
    const warnings = credentialWarningsFor(settings, options.now);
    const expired = warnings.find((warning) => warning.level === 'expired');
    if (expired) return { result: fail(name, 'a credential has expired', expired.message), getter };
    const soon = warnings.map((warning) => warning.message).join('; ');
    return { result: pass(name, soon ? `obtained, but ${soon}` : 'obtained from the tenant'), getter };
  } catch (error) {
    const message = error instanceof UserError ? error.message : firstLine(error);
    return { result: fail(name, 'no token could be obtained', message) };
  }
}

async function checkImap(settings: Settings, policy: Policy | null, token: AccessTokenGetter | undefined, fix: boolean, noToken: boolean): Promise<CheckResult[]> {
  const names = {
    login: 'IMAP login',
    mailbox: `Mailbox "${settings.IMAP_MAILBOX}" exists`,
    capabilities: 'Server capabilities',
    folders: 'Outcome folders',
    sent: 'Sent folder',
    second: 'Second IMAP connection (read-only)',
  };
  if (noToken && settings.IMAP_AUTH === 'oauth2') return Object.values(names).map((name) => skipped(name, 'needs an OAuth token first'));
  const source = createSource(settings, { kind: 'imap' }, token) as ImapSource;
  const results: CheckResult[] = [];
  try {
    try {
      await source.open();
      results.push(pass(names.login, `${settings.IMAP_USER} at ${settings.IMAP_HOST}:${settings.IMAP_PORT}`), pass(names.mailbox));
    } catch (error) {
      if (!(error instanceof MailSourceError)) throw error;
      if (error.code !== 'ENOMAILBOX') {
        results.push(fail(names.login, error.message, imapFix(error, settings.IMAP_AUTH === 'oauth2')));
        return [...results, ...[names.mailbox, names.capabilities, names.folders, names.sent, names.second].map((name) => skipped(name, 'needs the IMAP login first'))];
      }
      const folders = await source.listFolders().catch(() => [] as string[]);
      results.push(
        pass(names.login, `${settings.IMAP_USER} at ${settings.IMAP_HOST}:${settings.IMAP_PORT}`),
        fail(names.mailbox, `there is no folder "${settings.IMAP_MAILBOX}"`, `set IMAP_MAILBOX to the folder to read (usually INBOX); the mailbox has: ${folders.slice(0, 15).join(', ') || '(no folders listed)'}`),
      );
    }
    results.push(checkCapabilities(source.capabilities(), names.capabilities));
    results.push(await checkFolders(source, policy, fix, names.folders));
    results.push(await checkSentFolder(source, names.sent));
    results.push(await checkSecondConnection(source, names.second));
    return results;
  } finally {
    await source.close();
  }
}

/** Not a failure when missing: replies whose delivery was not confirmed then wait for a person, as they always may. */
async function checkSentFolder(source: ImapSource, name: string): Promise<CheckResult> {
  const sent = await source.sentFolder();
  if (sent) return pass(name, `"${sent}": a reply whose delivery was not confirmed (a crash mid-send) is looked for there before a person is asked`);
  return skipped(name, 'no folder is marked as the Sent folder: a reply whose delivery was not confirmed waits for a person');
}

/** Not a failure when missing: a pass then reads through the first connection, only more slowly. */
async function checkSecondConnection(source: ImapSource, name: string): Promise<CheckResult> {
  const problem = await source.secondConnectionProblem();
  if (problem === null) return pass(name, 'opens and examines the mailbox read-only; passes read messages over it');
  return skipped(name, `not used: ${problem}; passes read messages through the first connection, more slowly`);
}

function checkCapabilities(capabilities: string[], name: string): CheckResult {
  const present = WANTED_CAPABILITIES.filter((cap) => capabilities.includes(cap));
  const missing = WANTED_CAPABILITIES.filter((cap) => !capabilities.includes(cap));
  if (!present.includes('MOVE') && !present.includes('UIDPLUS')) {
    return fail(name, 'neither MOVE nor UIDPLUS', 'this server cannot move single messages safely; use a server with MOVE (NHSmail and Dovecot have it)');
  }
  return pass(name, `${present.join(', ')}${missing.length ? ` (missing ${missing.join(', ')}: works, less efficiently)` : ''}`);
}

async function checkFolders(source: ImapSource, policy: Policy | null, fix: boolean, name: string): Promise<CheckResult> {
  if (!policy) return skipped(name, 'needs a valid policy first');
  if (!policy.data.folders.enabled) return pass(name, 'not used (folders.enabled is false in the policy)');
  const wanted = [policy.data.folders.replied, policy.data.folders.review, policy.data.folders.filed, policy.data.folders.ignored];
  const existing = new Set(await source.listFolders());
  const missing = wanted.filter((folder) => !existing.has(folder));
  if (missing.length === 0) return pass(name, wanted.join(', '));
  if (!fix) {
    return fail(name, `missing: ${missing.join(', ')}`, 'run `pcn-autoreply doctor --fix` to create them now (this proves the mailbox lets the worker create folders), or correct the names under folders: in the policy');
  }
  try {
    // The worker creates a folder before its first move; doing it now surfaces a refusal before go-live.
    for (const folder of missing) await source.createFolder(folder);
    return pass(name, `created ${missing.join(', ')}`);
  } catch (error) {
    return fail(name, `cannot create ${missing.join(', ')}: ${firstLine(error)}`, 'ask your NHSmail Local Administrator to give the mailbox account permission to create folders, or create them by hand in Outlook');
  }
}

async function checkSmtp(settings: Settings, token: AccessTokenGetter | undefined, noToken: boolean): Promise<CheckResult> {
  const name = 'SMTP login (nothing sent)';
  if (noToken && settings.SMTP_AUTH === 'oauth2') return skipped(name, 'needs an OAuth token first');
  const sender = createSender(settings, undefined, token) as SmtpSender;
  try {
    await sender.verify();
    return pass(name, `${settings.SMTP_HOST}:${settings.SMTP_PORT}${settings.SMTP_AUTH === 'none' ? ' (no login: relay)' : ''}`);
  } catch (error) {
    return fail(name, firstLine(error), smtpFix(error, settings.SMTP_AUTH === 'oauth2'));
  } finally {
    await sender.close();
  }
}

/**
 * The policy loader's message lists each problem on lines of its own under a heading ("... has 2
 * problem(s):"): the checklist shows one line, so the heading with the first problem and its fix.
 */
function policyProblem(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split('\n');
  const heading = lines[0]!;
  const first = lines[1]?.trim();
  if (!heading.endsWith(':') || !first || first.startsWith('(run:')) return heading;
  const fix = lines[2]?.trim().startsWith('fix:') ? ` (${lines[2]!.trim()})` : '';
  return `${heading} ${first.replace(/\s{2,}/g, '  ')}${fix}`;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
