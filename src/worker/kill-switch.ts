import { existsSync } from 'node:fs';

/**
 * How long a look at the stop file holds. A pass decides a message in well under a millisecond and
 * the stat cost 30 µs of it on this project's machines (issue 7); replies already handed to SMTP
 * cannot be called back anyway, so a stop file takes effect within this, not at the next message.
 */
export const STOP_FILE_RECHECK_MS = 50;

/**
 * Replies stop (and become reviews) when the KILL_SWITCH setting is on, the policy says so, or
 * the stop file exists: anyone with access to the machine can halt sending with `touch data/STOP`.
 */
export function killSwitchCheck(
  setting: boolean,
  policySwitch: { enabled: boolean; file: string },
  clock: () => number = () => performance.now(),
): () => { active: boolean; why: string } {
  let lookedAt = -Infinity;
  let stopFileExists = false;
  return () => {
    if (setting) return { active: true, why: 'KILL_SWITCH setting is on' };
    if (policySwitch.enabled) return { active: true, why: 'killSwitch.enabled is true in the policy' };
    const now = clock();
    if (now - lookedAt >= STOP_FILE_RECHECK_MS || now < lookedAt) {
      stopFileExists = existsSync(policySwitch.file);
      lookedAt = now;
    }
    if (stopFileExists) return { active: true, why: `the stop file ${policySwitch.file} exists` };
    return { active: false, why: '' };
  };
}
