import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { killSwitchCheck, STOP_FILE_RECHECK_MS } from '../../src/worker/kill-switch.js';

describe('the kill switch', () => {
  it('a stop file created during a pass stops replies within STOP_FILE_RECHECK_MS, and its removal lets them go again', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-stop-')), 'STOP');
    let now = 1_000;
    const check = killSwitchCheck(false, { enabled: false, file }, () => now);
    expect(check().active).toBe(false);
    fs.writeFileSync(file, '');
    now += STOP_FILE_RECHECK_MS;
    expect(check()).toEqual({ active: true, why: `the stop file ${file} exists` });
    fs.rmSync(file);
    now += 1;
    expect(check().active, 'the last look holds for STOP_FILE_RECHECK_MS').toBe(true);
    now += STOP_FILE_RECHECK_MS;
    expect(check().active).toBe(false);
  });

  it('the setting and the policy stop replies whatever the stop file', () => {
    const file = path.join(os.tmpdir(), 'pcn-no-such-stop-file');
    expect(killSwitchCheck(true, { enabled: false, file })()).toEqual({ active: true, why: 'KILL_SWITCH setting is on' });
    expect(killSwitchCheck(false, { enabled: true, file })()).toEqual({ active: true, why: 'killSwitch.enabled is true in the policy' });
  });
});
