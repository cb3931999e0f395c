import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

// `status` as an administrator or a monitor sees it, over a case log made by a real pass of the
// sample inbox (no servers needed: the pass reads a folder and writes replies to an outbox).
let workDir: string;
let database: string;
const policy = path.join(REPO_ROOT, 'config/policy.example.yaml');
const status = (now: string) => runCli(['status', '--database', database, '--policy', policy, '--now', now], {}, { cwd: workDir });

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-status-'));
  database = path.join(workDir, 'cases.sqlite');
  const pass = await runCli(
    ['once', '--source', `dir:${path.join(REPO_ROOT, 'data/sample-inbox')}`, '--outbox', path.join(workDir, 'outbox'), '--database', database, '--policy', policy, '--now', '2026-11-20T09:00:00Z'],
    { TEMPLATES_DIR: path.join(REPO_ROOT, 'templates') },
    { cwd: workDir },
  );
  expect(pass.code).toBe(0);
});

describe('status', () => {
  it('shows the last pass and the cases waiting for a person, urgent first, and exits 0 when healthy', async () => {
    const result = await status('2026-11-20T09:10:00Z');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Worker: healthy/m);
    expect(result.stdout).toMatch(/Last pass: 20 Nov 2026, 09:00, ok: fetched 12, replied 7/);
    expect(result.stdout).toMatch(/Waiting for a person: 1 \(1 urgent\)\n\s+urgent first: PCN-\d{6}\n\s+oldest: PCN-\d{6}, received .*\n\s+why:\n\s+1  urgent clinical content \(urgent\)\n/);
  });

  it('exits 4 and says why when no pass has completed for too long in working hours', async () => {
    const result = await status('2026-11-20T11:00:00Z');
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/Worker: UNHEALTHY\n\s+✗ no pass has completed for 120 minutes during working hours \(limit 30\)/);
  });

  it('stays healthy over a quiet weekend', async () => {
    expect((await status('2026-11-21T11:00:00Z')).code).toBe(0);
  });

  it('says plainly when there is no case log', async () => {
    const result = await runCli(['status', '--database', path.join(workDir, 'missing.sqlite'), '--policy', policy], {}, { cwd: workDir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no case log at .*missing\.sqlite/);
  });
});
