import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import type { Classification } from '../core/classification.js';
import type { Policy } from '../policy/policy.js';
import { classifySource } from '../worker/classify-source.js';
import { loadPolicyOrExit } from './load-policy-or-exit.js';
import { UserError } from './user-error.js';

export interface ClassifiedFile {
  file: string;
  messageId: string | null;
  from: string | null;
  classification: Classification | null;
  error?: string;
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('Classify .eml files (folders are searched recursively) with the policy, and explain each decision.')
    .argument('<paths...>', '.eml files or folders')
    .option('--json', 'one JSON object per message per line')
    .option('--policy <file>', 'policy file (default: POLICY_FILE, else config/policy.yaml, else the example)')
    .action(async (paths: string[], options: { json?: boolean; policy?: string }) => {
      const policy = loadPolicyOrExit(options.policy);
      const files = collectEmlFiles(paths);
      if (files.length === 0) throw new UserError(`no .eml files found in ${paths.join(', ')}`);
      const now = new Date();
      if (!options.json) process.stdout.write(`${tableHeader()}\n`);
      let failed = 0;
      for (const file of files) {
        const result = await classifyFile(file, policy, now);
        if (result.error) failed++;
        process.stdout.write(`${options.json ? jsonLine(result) : tableRow(result)}\n`);
      }
      // Every file is tried; a script that runs this learns from the exit status that some were not.
      if (failed > 0) throw new UserError(`${failed} of ${files.length} file(s) could not be read or classified (marked ERROR above)`, 1);
    });
}

/** Files named on the command line are taken as they are; folders give their *.eml files, recursively, sorted. */
export function collectEmlFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    let stats;
    try {
      stats = statSync(path);
    } catch {
      files.push(path); // reported as an unreadable file; the run goes on
      continue;
    }
    if (stats.isDirectory()) files.push(...walk(path));
    else files.push(path);
  }
  return files;
}

function walk(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path));
    else if (entry.isFile() && entry.name.toLowerCase().endsWith('.eml')) found.push(path);
  }
  return found;
}

/** Read and classify one file (headers first, the body only when needed, as the worker does). Never throws: an unreadable file comes back with `error`. */
export async function classifyFile(file: string, policy: Policy, now: Date): Promise<ClassifiedFile> {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (error) {
    return { file, messageId: null, from: null, classification: null, error: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  try {
    const { headers, classification } = await classifySource(raw, policy, now, { maxBytes: policy.data.limits.maxMessageBytes });
    return { file, messageId: headers.messageId, from: headers.from?.address ?? null, classification };
  } catch (error) {
    return { file, messageId: null, from: null, classification: null, error: `cannot classify: ${(error as Error).message}` };
  }
}

function jsonLine(result: ClassifiedFile): string {
  const c = result.classification;
  if (!c) return JSON.stringify({ file: result.file, error: result.error ?? 'unknown error' });
  return JSON.stringify({
    file: result.file,
    messageId: result.messageId,
    from: result.from,
    organisation: c.organisation,
    category: c.category,
    action: c.action,
    confidence: c.confidence,
    reasons: c.reasons,
  });
}

const COLUMNS = [28, 36, 26, 24, 7, 5] as const;

function tableHeader(): string {
  return row(['file', 'from', 'organisation', 'category', 'action', 'conf', 'why']);
}

/** Gates that change what happens to a message whatever its category scored. */
const DECISIVE_GATES: ReadonlySet<string> = new Set(['sensitive', 'threshold']);

function tableRow(result: ClassifiedFile): string {
  const name = relative(process.cwd(), result.file) || result.file;
  const c = result.classification;
  if (!c) return row([name, '', '', 'ERROR', '', '', result.error ?? '']);
  // What decided the action first (a sensitive subject, a close call), then the words that scored.
  const why = c.reasons
    .filter((r) => r.gate !== 'sender' || c.category === 'non_hospital')
    .map((r, index) => ({ r, index }))
    .sort((a, b) => (DECISIVE_GATES.has(b.r.gate) ? 1 : 0) - (DECISIVE_GATES.has(a.r.gate) ? 1 : 0) || a.index - b.index)
    .map(({ r }) => r)
    .slice(0, 3)
    .map((r) => (r.matched ? `${r.rule} "${r.matched}"` : r.rule))
    .join('; ');
  return row([name, result.from ?? '', c.organisation ?? '-', c.category, c.action, c.confidence.toFixed(2), why]);
}

function row(cells: string[]): string {
  return cells.map((cell, i) => (i < COLUMNS.length ? fit(cell, COLUMNS[i]!) : cell)).join(' ');
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}~` : text.padEnd(width);
}
