import { existsSync } from 'node:fs';

/**
 * Replies stop (and become reviews) when the KILL_SWITCH setting is on, the policy says so, or
 * the stop file exists: anyone with access to the machine can halt sending with `touch data/STOP`.
 */
export function killSwitchCheck(setting: boolean, policySwitch: { enabled: boolean; file: string }): () => { active: boolean; why: string } {
  return () => {
    if (setting) return { active: true, why: 'KILL_SWITCH setting is on' };
    if (policySwitch.enabled) return { active: true, why: 'killSwitch.enabled is true in the policy' };
    if (existsSync(policySwitch.file)) return { active: true, why: `the stop file ${policySwitch.file} exists` };
    return { active: false, why: '' };
  };
}
