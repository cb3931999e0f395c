import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/run-cli.js';

/** `classify`: an administrator trying the policy on exported mail, as the README shows it. */
const SAMPLES = path.join(REPO_ROOT, 'data/sample-inbox');
const POLICY = path.join(REPO_ROOT, 'config/policy.example.yaml');

describe('pcn-autoreply classify', () => {
  it('classifies a folder of .eml files, a row each, with the category, action and the rules that decided', async () => {
    const result = await runCli(['classify', SAMPLES, '--policy', POLICY]);
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^file\s+from\s+organisation\s+category\s+action\s+conf\s+why$/);
    expect(rows).toHaveLength(13);
    const row = (name: string) => rows.find((line) => line.includes(name.slice(0, 8)))!;
    expect(row('01-bloods.eml')).toMatch(/debbie\.marsh@northmere\.nhs\.uk\s+Northmere University Hosp~\s+blood_test_request\s+reply/);
    expect(row('06-urgent.eml')).toMatch(/urgent_clinical\s+review/);
    expect(row('07-out-of-office.eml')).toMatch(/auto_generated\s+ignore/);
    expect(row('10-lookalike.eml')).toMatch(/results@northmere-nhs\.uk\s+-\s+non_hospital\s+file/);
  });

  it('a request held for a person says first why it is held (a sensitive subject), then the words that scored', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'classify-'));
    writeFileSync(
      path.join(dir, 'died.eml'),
      'From: Renal Clinic <renal.clinic@northmere.nhs.uk>\r\nTo: rivermarsh.pcnalliance@nhs.net\r\nSubject: Bloods\r\nDate: Thu, 19 Nov 2026 15:00:00 +0000\r\n' +
        'Message-ID: <died@northmere.nhs.uk>\r\n\r\nDear GP,\r\n\r\nSadly Mr Test passed away on the ward last night. Please could you arrange to cancel his outstanding blood tests.\r\n',
    );
    const result = await runCli(['classify', path.join(dir, 'died.eml'), '--policy', POLICY]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')[1]).toMatch(/blood_test_request\s+review\s+\S+\s+death "passed away"; /);
  });

  it('--json: one object per message with its reasons, which name the rule and the words matched', async () => {
    const result = await runCli(['classify', '--json', path.join(SAMPLES, '01-bloods.eml'), path.join(SAMPLES, '08-patient.eml'), '--policy', POLICY]);
    expect(result.code, result.stderr).toBe(0);
    const [bloods, patient] = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(bloods).toMatchObject({ from: 'debbie.marsh@northmere.nhs.uk', category: 'blood_test_request', action: 'reply' });
    expect((bloods!.reasons as Array<{ rule: string; matched?: string }>).some((reason) => reason.matched)).toBe(true);
    expect(patient).toMatchObject({ from: 'john.smith1962@gmail.com', organisation: null, category: 'non_hospital', action: 'file' });
  });

  it('a file it cannot read is marked ERROR, the others are still classified, and the exit status says so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'classify-'));
    copyFileSync(path.join(SAMPLES, '01-bloods.eml'), path.join(dir, 'a-bloods.eml'));
    writeFileSync(path.join(dir, 'b-empty.eml'), '');
    // Run from the folder, as an administrator would: the table shows names relative to it.
    const result = await runCli(['classify', 'gone.eml', '.', '--policy', POLICY], {}, { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('pcn-autoreply: 1 of 3 file(s) could not be read or classified (marked ERROR above)\n');
    const rows = result.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^gone\.eml\s+ERROR\s+cannot read: ENOENT$/);
    expect(rows[1]).toMatch(/blood_test_request\s+reply/);
    // An empty file is a message with no sender: filed, not an error.
    expect(rows[2]).toMatch(/non_hospital\s+file/);
  });

  it('a path with no .eml file in it is a usage error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'classify-none-'));
    writeFileSync(path.join(dir, 'notes.txt'), 'not mail');
    const result = await runCli(['classify', dir, '--policy', POLICY]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`pcn-autoreply: no .eml files found in ${dir}\n`);
  });
});
