import { describe, expect, it } from 'vitest';
import { cutoffFor, DateInputError, isoOrNull, parseMonth, parseSince, parseUntil, shiftMonth } from '../../src/report/dates.js';

describe('command-line dates (UTC days)', () => {
  it('--since includes the whole day; --until includes the whole day given', () => {
    expect(parseSince('2026-01-31')).toBe(Date.parse('2026-01-31T00:00:00Z'));
    expect(parseUntil('2026-01-31')).toBe(Date.parse('2026-02-01T00:00:00Z'));
  });

  it('takes a full timestamp exactly, with Z or an offset', () => {
    expect(parseSince('2026-01-31T09:00Z')).toBe(Date.parse('2026-01-31T09:00:00Z'));
    expect(parseUntil('2026-01-31T09:00:00.250+01:00')).toBe(Date.parse('2026-01-31T08:00:00.250Z'));
  });

  it.each(['2026-02-30', '2025-13-01', 'yesterday', '31/01/2026', '2026-01-31T25:00Z', '2026-01-31T09:00'])('refuses %j naming the option', (text) => {
    expect(() => parseSince(text)).toThrow(DateInputError);
    expect(() => parseSince(text)).toThrow(/--since/);
  });

  it('accepts 29 February only in a leap year', () => {
    expect(parseSince('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
    expect(() => parseSince('2026-02-29')).toThrow(/not a real calendar date/);
  });
});

describe('months', () => {
  it('a month runs from its first instant to the next month’s, across the year end', () => {
    expect(parseMonth('2026-12')).toEqual({ month: '2026-12', start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
  });

  it.each(['2026-13', '2026-00', '2026-1', 'November'])('refuses %j', (text) => {
    expect(() => parseMonth(text)).toThrow(/--month must be a month such as 2026-11/);
  });

  it('shifts back eleven months for the trend, into the year before', () => {
    expect(shiftMonth(parseMonth('2026-11'), -11).month).toBe('2025-12');
    expect(shiftMonth(parseMonth('2026-01'), -1).month).toBe('2025-12');
  });
});

describe('retention ages', () => {
  const now = new Date('2026-03-31T12:00:00Z');

  it('counts days, calendar months and years back from now', () => {
    expect(cutoffFor('730d', now)).toBe(now.getTime() - 730 * 86_400_000);
    expect(new Date(cutoffFor('24m', now)).toISOString()).toBe('2024-03-31T12:00:00.000Z');
    expect(cutoffFor('2y', now)).toBe(cutoffFor('24m', now));
  });

  it.each(['0m', 'two years', '24', '5w'])('refuses %j', (text) => {
    expect(() => cutoffFor(text, now)).toThrow(/--older-than must be a number with d/);
  });

  it('formats an instant or null', () => {
    expect(isoOrNull(null)).toBeNull();
    expect(isoOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
