import { hostname, userInfo } from 'node:os';
import type { Logger } from 'pino';
import { DEFAULT_TEMPLATES_DIR, loadPolicyFile } from '../policy/load-policy.js';
import type { Policy } from '../policy/policy.js';
import { compileTemplates, TemplateError, type CompiledTemplates } from '../reply/compile-templates.js';
import type { Settings } from '../settings/load-settings.js';
import { CaseStore } from '../store/case-store.js';
import { Lease } from '../store/lease.js';
import { configureWorkerConnection, openDatabase, type Db } from '../store/open-database.js';
import { PassLog } from '../store/pass-log.js';
import { UserError } from '../cli/user-error.js';

export interface WorkerContext {
  db: Db;
  store: CaseStore;
  passLog: PassLog;
  policy: Policy;
  templates: CompiledTemplates;
  logger: Logger;
}

/**
 * Load and check everything a pass needs before touching the mailbox: the policy (schema and
 * semantic rules), the templates (compiled now, not at send time), and the database (migrated).
 */
export function loadPolicyAndTemplates(policyFile: string, templatesDir: string = DEFAULT_TEMPLATES_DIR): { policy: Policy; templates: CompiledTemplates } {
  const result = loadPolicyFile(policyFile, { templatesDir });
  if (!result.policy) {
    const lines = result.problems.map((p) => `  ${p.file}:${p.line}:${p.column}  ${p.path}  ${p.message}\n      fix: ${p.fix}`);
    throw new UserError(`the policy ${policyFile} has ${result.problems.length} problem(s):\n${lines.join('\n')}\n(run: pcn-autoreply policy validate ${policyFile})`);
  }
  try {
    return { policy: result.policy, templates: compileTemplates(templatesDir, result.policy) };
  } catch (error) {
    if (error instanceof TemplateError) throw new UserError(error.message);
    throw error;
  }
}

export function openWorkerContext(settings: Pick<Settings, 'DATABASE_PATH'>, policyFile: string, templatesDir: string | undefined, logger: Logger): WorkerContext {
  const { policy, templates } = loadPolicyAndTemplates(policyFile, templatesDir);
  let db: Db;
  try {
    db = openDatabase(settings.DATABASE_PATH);
    configureWorkerConnection(db);
  } catch (error) {
    throw new UserError(`cannot open the database ${settings.DATABASE_PATH} (check DATABASE_PATH and that the folder is writable): ${(error as Error).message}`);
  }
  return { db, store: new CaseStore(db), passLog: new PassLog(db), policy, templates, logger };
}

/** One worker per mailbox and database: the lease names the holder so the other can say who. */
export function workerLease(db: Db, ttlMs = 2 * 60 * 1000): Lease {
  return new Lease(db, 'worker', `${userInfo().username}@${hostname()} pid ${process.pid}`, ttlMs);
}

export function operatingUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
