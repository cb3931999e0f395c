import { describe, expect, it } from 'vitest';
import { nextAlertStep } from '../../src/worker/health-alert.js';
import type { Health } from '../../src/worker/health.js';

const healthy: Health = { healthy: true, problems: [], consecutiveFailures: 0, lastSuccessAt: 1 };
const unhealthy: Health = { healthy: false, problems: ['the last 3 passes failed (limit 3)'], consecutiveFailures: 3, lastSuccessAt: 1 };

describe('one alert per incident', () => {
  it.each([
    ['healthy, no incident', healthy, null, 'nothing'],
    ['healthy again, incident open', healthy, { alerted: true }, 'close'],
    ['turns unhealthy', unhealthy, null, 'open-and-alert'],
    ['still unhealthy, already alerted', unhealthy, { alerted: true }, 'nothing'],
    ['still unhealthy, the alert could not be sent', unhealthy, { alerted: false }, 'alert-again-later'],
  ] as const)('%s -> %s', (_label, health, open, kind) => {
    expect(nextAlertStep(health, open).kind).toBe(kind);
  });
});
