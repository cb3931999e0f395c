import { describe, expect, it } from 'vitest';
import { formatUkDate, ukLocalTime, type UkLocalTime } from '../../src/core/uk-time.js';

// The reference: Intl with ICU's own time-zone data for Europe/London, which uk-time.ts avoids
// loading in the worker (it costs memory) and must agree with.
const PARTS = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function fromIntl(date: Date): UkLocalTime {
  const parts = PARTS.formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? '';
  return { year: Number(get('year')), month: Number(get('month')), day: Number(get('day')), weekday: WEEKDAYS.indexOf(get('weekday')), hour: Number(get('hour')), minute: Number(get('minute')) };
}

const HOUR_MS = 3_600_000;

describe('UK civil time without Intl', () => {
  it('agrees with Intl every hour from 1996 to 2035', () => {
    let checked = 0;
    let summer = 0;
    for (let at = Date.UTC(1996, 0, 1); at < Date.UTC(2036, 0, 1); at += HOUR_MS) {
      const date = new Date(at);
      const ours = ukLocalTime(date);
      const theirs = fromIntl(date);
      if (ours.year !== theirs.year || ours.month !== theirs.month || ours.day !== theirs.day || ours.weekday !== theirs.weekday || ours.hour !== theirs.hour || ours.minute !== theirs.minute) {
        expect(ours, date.toISOString()).toEqual(theirs);
      }
      // The date in a reply changes only with the UK's day: check it where that day turns, and at noon.
      if (ours.hour === 0 || ours.hour === 12 || ours.hour === 23) expect(formatUkDate(date), date.toISOString()).toBe(DATE.format(date));
      if (ours.hour !== date.getUTCHours()) summer++;
      checked++;
    }
    expect(checked).toBe(14_610 * 24);
    // About seven months of each year are summer time.
    expect(summer / checked).toBeGreaterThan(0.55);
    expect(summer / checked).toBeLessThan(0.6);
  });

  it('agrees with Intl either side of every change of the clocks up to 2199', () => {
    for (let year = 1996; year <= 2199; year++) {
      for (const month of [2, 9]) {
        const lastDay = Date.UTC(year, month + 1, 0, 1);
        const change = lastDay - new Date(lastDay).getUTCDay() * 24 * HOUR_MS;
        for (const at of [change - 60_000, change - 1, change, change + 1, change + 60_000, change + 23 * HOUR_MS - 1, change + 23 * HOUR_MS]) {
          const date = new Date(at);
          expect(ukLocalTime(date), date.toISOString()).toEqual(fromIntl(date));
          expect(formatUkDate(date), date.toISOString()).toBe(DATE.format(date));
        }
      }
    }
  });

  it('writes the dates of replies as en-GB does in full', () => {
    expect(formatUkDate(new Date('2026-11-16T10:22:02Z'))).toBe('16 November 2026');
    // 23:30 UTC in summer is already the next day in the UK; in winter it is not.
    expect(formatUkDate(new Date('2026-07-01T23:30:00Z'))).toBe('2 July 2026');
    expect(formatUkDate(new Date('2026-12-01T23:30:00Z'))).toBe('1 December 2026');
  });

  it('leaves years outside the rule to Intl (a Date header can say anything)', () => {
    for (const iso of ['1995-07-01T23:30:00Z', '1981-10-25T00:30:00Z', '1970-01-01T00:00:00Z', '2200-07-01T23:30:00Z', '2999-03-31T00:30:00Z']) {
      const date = new Date(iso);
      expect(ukLocalTime(date), iso).toEqual(fromIntl(date));
      expect(formatUkDate(date), iso).toBe(DATE.format(date));
    }
  });
});
