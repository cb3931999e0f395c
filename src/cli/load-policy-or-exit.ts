import { existsSync } from 'node:fs';
import { loadPolicyFile, type LoadPolicyOptions } from '../policy/load-policy.js';
import type { Policy, PolicyProblem } from '../policy/policy.js';
import { UserError } from './user-error.js';

export const DEFAULT_POLICY_FILE = 'config/policy.yaml';
export const EXAMPLE_POLICY_FILE = 'config/policy.example.yaml';

/**
 * Which policy file a command uses: the --policy option, else POLICY_FILE, else
 * config/policy.yaml, else (with a note) the bundled example so a fresh clone still runs.
 */
export function resolvePolicyFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): { file: string; note: string | null } {
  if (explicit) return { file: explicit, note: null };
  if (env.POLICY_FILE) return { file: env.POLICY_FILE, note: null };
  if (existsSync(DEFAULT_POLICY_FILE) || !existsSync(EXAMPLE_POLICY_FILE)) return { file: DEFAULT_POLICY_FILE, note: null };
  return { file: EXAMPLE_POLICY_FILE, note: `note: ${DEFAULT_POLICY_FILE} not found; using ${EXAMPLE_POLICY_FILE} (copy it to ${DEFAULT_POLICY_FILE} for a deployment)` };
}

/** `file:line:column  path  message` and an indented fix line, as editors and people read them. */
export function formatProblem(problem: PolicyProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return `${where}  ${problem.path || '(top level)'}  ${problem.message}\n    fix: ${problem.fix}`;
}

/**
 * Load the policy for a command, printing warnings and problems to stderr. Throws a UserError
 * (exit 2) when the policy is not valid, so no command ever runs on a broken policy.
 */
export function loadPolicyOrExit(explicit?: string, options: LoadPolicyOptions & { stderr?: NodeJS.WritableStream } = {}): Policy {
  const stderr = options.stderr ?? process.stderr;
  const { file, note } = resolvePolicyFile(explicit);
  if (note) stderr.write(`${note}\n`);
  const result = loadPolicyFile(file, options);
  for (const warning of result.warnings) stderr.write(`warning: ${formatProblem(warning)}\n`);
  if (!result.policy) {
    for (const problem of result.problems) stderr.write(`${formatProblem(problem)}\n`);
    const count = result.problems.length;
    throw new UserError(`the policy ${file} has ${count} problem${count === 1 ? '' : 's'}; run "pcn-autoreply policy validate ${file}" after fixing them`);
  }
  return result.policy;
}
