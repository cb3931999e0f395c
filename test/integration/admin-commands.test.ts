import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

/** The PCN administrator's first two commands, as the README gives them: the demo, and checking the policy. */

describe('pcn-autoreply demo', () => {
  it('runs a pass over the sample inbox in the folder it is run from: a case table, 7 replies written, the counts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'demo-'));
    mkdirSync(path.join(dir, 'config'));
    cpSync(path.join(REPO_ROOT, 'data/sample-inbox'), path.join(dir, 'data/sample-inbox'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'config/policy.example.yaml'), path.join(dir, 'config/policy.example.yaml'));
    for (const round of [1, 2]) {
      // Run twice: each run starts from nothing (the outbox and the log are made afresh).
      const result = await runCli(['demo'], {}, { cwd: dir, timeoutMs: 60_000 });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout, `round ${round}`).toContain('pcn-autoreply demo: 12 messages from data/sample-inbox, policy config/policy.example.yaml');
      expect(result.stdout).toMatch(/^PCN-\d{6} +laura\.tran@northmere\.nhs\.uk +urgent_clinical +review /m);
      expect(result.stdout).toContain('Replied 7 (written to data/outbox/), review 1, filed 3, ignored 1.');
      const replies = readdirSync(path.join(dir, 'data/outbox')).filter((name) => name.endsWith('.eml'));
      expect(replies).toHaveLength(7);
      for (const name of replies) {
        const reply = readFileSync(path.join(dir, 'data/outbox', name), 'utf8');
        expect(reply, name).toMatch(/^Auto-Submitted: auto-replied\r?$/m);
        expect(reply, name).toMatch(/^In-Reply-To: <[^>]+>\r?$/m);
      }
    }
  });
});

describe('pcn-autoreply policy validate', () => {
  const example = path.join(REPO_ROOT, 'config/policy.example.yaml');

  it('says a valid policy is valid, with its version, approval and hash, and exits 0', async () => {
    const result = await runCli(['policy', 'validate', example]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/config\/policy\.example\.yaml: valid\. Policy 2026\.1 approved by .+ on 2026-01-05; 3 hospitals, 14 categories; hash [0-9a-f]{64}\n$/);
  });

  it('lists every problem with file:line:column, the field and a fix, and exits 2', async () => {
    const lines = readFileSync(example, 'utf8').split('\n');
    const category = lines.findIndex((line) => line === '  blood_test_request:');
    const maxAge = lines.findIndex((line) => line === '  maxAgeDays: 14');
    expect(category).toBeGreaterThan(0);
    expect(maxAge).toBeGreaterThan(0);
    lines[category] = '  blood_tests_request:';
    lines[maxAge] = '  maxAgeDays: fourteen';
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'policy-')), 'policy.yaml');
    writeFileSync(file, lines.join('\n'));
    const result = await runCli(['policy', 'validate', file]);
    expect(result.code).toBe(2);
    const out = result.stdout.split('\n');
    expect(out[0]).toBe(`${file}:${category + 1}:3  categories.blood_tests_request  unknown category id "blood_tests_request"`);
    expect(out[1]).toMatch(/^ {4}fix: did you mean "blood_test_request"\?/);
    expect(out[2]).toBe(`${file}:${maxAge + 1}:15  limits.maxAgeDays  expected a number`);
    expect(out[3]).toBe('    fix: write a number here, without quotes');
    expect(out[4]).toBe(`${file}: 2 problems`);
  });
});

describe('pcn-autoreply once', () => {
  it('refuses --outbox with --dry-run, saying where the would-be replies are, and touches nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'once-'));
    const database = path.join(dir, 'cases.sqlite');
    const outbox = path.join(dir, 'outbox');
    const args = ['once', '--dry-run', '--outbox', outbox, '--source', `dir:${path.join(REPO_ROOT, 'data/sample-inbox')}`, '--policy', path.join(REPO_ROOT, 'config/policy.example.yaml'), '--database', database];
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--outbox and --dry-run do not go together: .*"audit --status would_reply".*"why PCN-000123"/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
