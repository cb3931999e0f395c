import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { evaluate, type EvalReport, type EvalRow } from '../core/evaluation.js';
import type { Policy } from '../policy/policy.js';
import { classifyFile } from './classify.js';
import { loadPolicyOrExit } from './load-policy-or-exit.js';
import { UserError } from './user-error.js';

interface Label {
  category: string;
  action: string;
  note?: string;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('Score the policy on a labelled corpus (DIR/labels.json): accuracy, precision/recall, confusion matrix, unsafe replies. Exit 1 on any unsafe reply.')
    .argument('<dir>', 'folder with .eml files and labels.json')
    .option('--policy <file>', 'policy file (default: POLICY_FILE, else config/policy.yaml, else the example)')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, options: { policy?: string; json?: boolean }) => {
      const policy = loadPolicyOrExit(options.policy);
      const { report, rows } = await evaluateCorpus(dir, policy);
      process.stdout.write(options.json ? `${JSON.stringify({ ...report, rows }, null, 2)}\n` : formatReport(report));
      if (report.unsafeReplies.length > 0) process.exitCode = 1;
    });
}

/** Classify every labelled message of `dir` and score the result. */
export async function evaluateCorpus(dir: string, policy: Policy, now = new Date()): Promise<{ report: EvalReport; rows: EvalRow[] }> {
  const labels = readLabels(dir);
  const rows: EvalRow[] = [];
  for (const [name, label] of Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))) {
    const result = await classifyFile(join(dir, name), policy, now);
    rows.push({
      name,
      expectedCategory: label.category,
      expectedAction: label.action,
      predictedCategory: result.classification?.category ?? 'error',
      predictedAction: result.classification?.action ?? 'review',
    });
  }
  return { report: evaluate(rows), rows };
}

function readLabels(dir: string): Record<string, Label> {
  const file = join(dir, 'labels.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file} not found: eval needs a labels.json beside the .eml files`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UserError(`${file} must map file names to {"category", "action"}`);
  for (const [name, label] of Object.entries(data)) {
    if (typeof label !== 'object' || label === null || typeof (label as Label).category !== 'string' || typeof (label as Label).action !== 'string') {
      throw new UserError(`${file}: entry ${name} needs "category" and "action" strings`);
    }
  }
  return data as Record<string, Label>;
}

export function formatReport(report: EvalReport): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines: string[] = [];
  lines.push(`messages: ${report.total}`);
  lines.push(`category accuracy: ${pct(report.accuracy)} (${report.correct}/${report.total})`);
  lines.push(`reply recall: ${pct(report.replyRecall)}   reply precision: ${pct(report.replyPrecision)}`);
  lines.push('');
  lines.push(`${'category'.padEnd(26)}${'support'.padStart(8)}${'predicted'.padStart(10)}${'precision'.padStart(11)}${'recall'.padStart(8)}`);
  for (const c of report.perCategory) {
    lines.push(`${c.category.padEnd(26)}${String(c.support).padStart(8)}${String(c.predicted).padStart(10)}${pct(c.precision).padStart(11)}${pct(c.recall).padStart(8)}`);
  }
  lines.push('');
  lines.push('confusion matrix (rows: label, columns: predicted; abbreviations below)');
  const ids = report.perCategory.map((c) => c.category);
  const abbrev = ids.map((id) => id.split('_').map((w) => w[0]).join('').toUpperCase());
  lines.push(`${''.padEnd(6)}${abbrev.map((a) => a.padStart(5)).join('')}`);
  ids.forEach((id, i) => {
    const row = report.confusion[id] ?? {};
    lines.push(`${abbrev[i]!.padEnd(6)}${ids.map((p) => String(row[p] ?? '.').padStart(5)).join('')}`);
  });
  lines.push(ids.map((id, i) => `${abbrev[i]}=${id}`).join('  '));
  lines.push('');
  if (report.unsafeReplies.length === 0) lines.push('unsafe automatic replies: none');
  else {
    lines.push(`UNSAFE automatic replies (${report.unsafeReplies.length}): would reply although the label says otherwise`);
    for (const u of report.unsafeReplies) lines.push(`  ${u.name}: labelled ${u.expected}, would reply as ${u.predicted}`);
  }
  if (report.missedReplies.length > 0) {
    lines.push(`missed replies (${report.missedReplies.length}): labelled for a reply, not answered`);
    for (const m of report.missedReplies) lines.push(`  ${m.name}: labelled ${m.expected}, classified ${m.predicted}`);
  }
  return `${lines.join('\n')}\n`;
}
