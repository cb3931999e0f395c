import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runCli, type CliResult } from './run-cli.js';

/** The instant the LMC tests' worker pass runs at: the sample inbox's mail is from the days before. */
export const SAMPLE_PASS_NOW = '2026-11-20T09:00:00Z';
export const SAMPLE_INBOX = 'data/sample-inbox';

/**
 * The example policy with blood tests and fit notes held for approval instead of sent, so a
 * pass leaves cases in the review queue for the LMC commands to work on. Returns the file written.
 */
export function writeApprovalPolicy(dir: string): string {
  const policy = path.join(dir, 'policy.yaml');
  const example = readFileSync('config/policy.example.yaml', 'utf8');
  writeFileSync(policy, example.replace(/(\n  (?:blood_test_request|fit_note_request):\n    action: reply\n    autonomy:) auto/g, '$1 approve'));
  return policy;
}

/** One real `once` pass of the built worker over a folder of .eml files, writing replies to an outbox folder. */
export function runWorkerPass(options: { inbox: string; outbox: string; database: string; policy: string; now: string }): Promise<CliResult> {
  return runCli(['once', '--source', `dir:${options.inbox}`, '--outbox', options.outbox, '--database', options.database, '--policy', options.policy, '--now', options.now]);
}

/**
 * A copy of an inbox folder with every message moved `days` earlier (Date header and file time)
 * and given its own Message-ID, so a second pass logs new cases in an earlier month.
 */
export function shiftedInboxCopy(source: string, target: string, days: number): void {
  mkdirSync(target, { recursive: true });
  const shiftMs = days * 86_400_000;
  for (const name of readdirSync(source).filter((file) => file.endsWith('.eml'))) {
    let sentAt = 0;
    const text = readFileSync(path.join(source, name), 'latin1')
      .replace(/^Date: (.+)$/m, (_, date: string) => {
        sentAt = Date.parse(date) - shiftMs;
        return `Date: ${new Date(sentAt).toUTCString().replace('GMT', '+0000')}`;
      })
      .replace(/^(Message-ID: <)/im, `$1shifted-${days}d.`);
    const file = path.join(target, name);
    writeFileSync(file, text, 'latin1');
    if (sentAt) utimesSync(file, sentAt / 1000, sentAt / 1000);
  }
}

/** COUNT(*) of the cases matching an SQL condition, read straight from the case log. */
export function countCases(database: string, where: string, params: unknown[] = []): number {
  const handle = new Database(database, { readonly: true });
  try {
    return (handle.prepare(`SELECT COUNT(*) AS n FROM cases WHERE ${where}`).get(...params) as { n: number }).n;
  } finally {
    handle.close();
  }
}
