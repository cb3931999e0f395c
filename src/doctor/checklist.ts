/** One line of the `doctor` checklist: what was checked, and for a failure what to do, in plain words. */
export interface CheckResult {
  name: string;
  status: 'pass' | 'fail' | 'skipped';
  detail?: string;
  fix?: string;
}

export const pass = (name: string, detail?: string): CheckResult => ({ name, status: 'pass', detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });
export const skipped = (name: string, why: string): CheckResult => ({ name, status: 'skipped', detail: why });

const MARK = { pass: '✓', fail: '✗', skipped: '–' } as const;

/** The checklist as printed: a mark per line, the fix indented under each failure, a verdict at the end. */
export function formatChecklist(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${MARK[result.status]} ${result.name}${result.detail ? `: ${result.detail}` : ''}`);
    if (result.status === 'fail' && result.fix) lines.push(`    fix: ${result.fix}`);
  }
  const failures = results.filter((result) => result.status === 'fail').length;
  lines.push('');
  lines.push(failures === 0 ? 'All checks passed.' : `${failures} check(s) failed: fix the first one, then run \`pcn-autoreply doctor\` again.`);
  return `${lines.join('\n')}\n`;
}

export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((result) => result.status !== 'fail');
}
