import { describe, expect, it } from 'vitest';
import { assessHealth, withinWorkingHours, type PassSummary } from '../../src/worker/health.js';
import { credentialWarnings } from '../../src/auth/expiry-warnings.js';

const rules = { maxMinutesWithoutPass: 30, workingHours: '08:00-18:30', maxConsecutiveFailures: 3 };
// Friday 20 November 2026, 10:00 in London (GMT in November).
const fridayMorning = new Date('2026-11-20T10:00:00Z');
const minutesBefore = (at: Date, minutes: number) => at.getTime() - minutes * 60_000;
const pass = (outcome: PassSummary['outcome'], minutesAgo: number, error: string | null = null): PassSummary => ({
  startedAt: minutesBefore(fridayMorning, minutesAgo),
  finishedAt: outcome === 'running' ? null : minutesBefore(fridayMorning, minutesAgo),
  outcome,
  error,
});

describe('worker health', () => {
  it('is healthy when a pass completed recently', () => {
    const health = assessHealth([pass('ok', 5), pass('ok', 10)], rules, fridayMorning);
    expect(health).toMatchObject({ healthy: true, problems: [], consecutiveFailures: 0 });
  });

  it('is unhealthy when no pass completed for longer than allowed in working hours', () => {
    const health = assessHealth([pass('ok', 45)], rules, fridayMorning);
    expect(health.healthy).toBe(false);
    expect(health.problems[0]).toMatch(/no pass has completed for 45 minutes during working hours/);
  });

  it('does not complain about a quiet night or weekend', () => {
    const saturday = new Date('2026-11-21T10:00:00Z');
    const night = new Date('2026-11-20T22:00:00Z');
    expect(assessHealth([pass('ok', 600)], rules, saturday).healthy).toBe(true);
    expect(assessHealth([pass('ok', 600)], rules, night).healthy).toBe(true);
  });

  it('counts consecutive failures and quotes the last error', () => {
    const passes = [pass('failed', 1, 'the IMAP server refused the login'), pass('failed', 6), pass('failed', 11), pass('ok', 16)];
    const health = assessHealth(passes, rules, fridayMorning);
    expect(health.consecutiveFailures).toBe(3);
    expect(health.healthy).toBe(false);
    expect(health.problems.join('\n')).toMatch(/last 3 passes failed .*refused the login/);
  });

  it('tolerates fewer failures than the limit, and ignores a pass still running', () => {
    const health = assessHealth([pass('running', 0), pass('failed', 5), pass('failed', 10), pass('ok', 15)], rules, fridayMorning);
    expect(health).toMatchObject({ healthy: true, consecutiveFailures: 2 });
  });

  it('is unhealthy in working hours when no pass ever completed', () => {
    expect(assessHealth([], rules, fridayMorning).problems[0]).toMatch(/no pass has ever completed/);
  });

  it('reads working hours in UK local time (British Summer Time)', () => {
    // 07:30 UTC in July is 08:30 in London.
    expect(withinWorkingHours(new Date('2026-07-01T07:30:00Z'), '08:00-18:30')).toBe(true);
    expect(withinWorkingHours(new Date('2026-12-01T07:30:00Z'), '08:00-18:30')).toBe(false);
  });
});

describe('credential expiry warnings', () => {
  const now = new Date('2026-11-20T09:00:00Z');
  it('warns about a client secret two weeks ahead, naming the settings to change', () => {
    const [warning] = credentialWarnings({ clientSecretExpires: '2026-11-30' }, now);
    expect(warning).toMatchObject({ level: 'warning', daysLeft: 9 });
    expect(warning!.message).toMatch(/AZURE_CLIENT_SECRET and AZURE_CLIENT_SECRET_EXPIRES/);
    expect(credentialWarnings({ clientSecretExpires: '2027-06-30' }, now)).toEqual([]);
  });

  it('says plainly when the secret has already expired', () => {
    expect(credentialWarnings({ clientSecretExpires: '2026-11-01' }, now)[0]).toMatchObject({ level: 'expired' });
  });

  it('warns when the saved sign-in has not been renewed for nearly 90 days', () => {
    const [warning] = credentialWarnings({ refreshTokenReceivedAt: '2026-08-24T09:00:00Z' }, now);
    expect(warning).toMatchObject({ level: 'warning', daysLeft: 2 });
    expect(warning!.message).toMatch(/auth login/);
    expect(credentialWarnings({ refreshTokenReceivedAt: '2026-11-19T09:00:00Z' }, now)).toEqual([]);
  });
});
