/**
 * Dates as the LMC types them on the command line. All days are UTC days: the case log stores
 * UTC milliseconds, and a report that shifted by an hour in summer would not add up across months.
 *
 * `--since 2026-01-01` includes that whole day; `--until 2026-01-31` also includes that whole day
 * (the export stops at the start of 1 February). A full timestamp (2026-01-31T12:00:00Z) is taken
 * exactly: since is inclusive, until is exclusive.
 */
const DAY_MS = 24 * 60 * 60 * 1000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Thrown for a date the user typed wrongly; the message names the option and the accepted form. */
export class DateInputError extends Error {}

function parseDay(text: string, option: string): number | null {
  const match = DAY.exec(text.trim());
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) {
    throw new DateInputError(`${option} "${text}" is not a real calendar date`);
  }
  return ms;
}

function parseStamp(text: string, option: string): number {
  const trimmed = text.trim();
  const ms = STAMP.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new DateInputError(`${option} must be a date such as 2026-01-31 (or 2026-01-31T09:00:00Z), not "${text}"`);
  }
  return ms;
}

/** Start of the day (inclusive) in UTC milliseconds. */
export function parseSince(text: string, option = '--since'): number {
  return parseDay(text, option) ?? parseStamp(text, option);
}

/** Exclusive end: the start of the next day for a plain date, the instant itself for a timestamp. */
export function parseUntil(text: string, option = '--until'): number {
  const day = parseDay(text, option);
  return day === null ? parseStamp(text, option) : day + DAY_MS;
}

export interface MonthRange {
  /** `YYYY-MM` */
  month: string;
  start: number;
  end: number;
}

export function parseMonth(text: string, option = '--month'): MonthRange {
  const match = /^(\d{4})-(\d{2})$/.exec(text.trim());
  const monthNumber = match ? Number(match[2]) : 0;
  if (!match || monthNumber < 1 || monthNumber > 12) {
    throw new DateInputError(`${option} must be a month such as 2026-11 (year-month), not "${text}"`);
  }
  return monthRange(Number(match[1]), monthNumber - 1);
}

/** The month `offset` months from `range` (negative: earlier). */
export function shiftMonth(range: MonthRange, offset: number): MonthRange {
  const start = new Date(range.start);
  return monthRange(start.getUTCFullYear(), start.getUTCMonth() + offset);
}

function monthRange(year: number, monthIndex: number): MonthRange {
  const start = Date.UTC(year, monthIndex, 1);
  const end = Date.UTC(year, monthIndex + 1, 1);
  return { month: new Date(start).toISOString().slice(0, 7), start, end };
}

/**
 * A retention age such as `24m` (calendar months), `730d` (days) or `2y` (years), turned into the
 * cut-off instant before `now`. Cases received before the cut-off are old.
 */
export function cutoffFor(text: string, now: Date, option = '--older-than'): number {
  const match = /^(\d{1,4})\s*([dmy])$/i.exec(text.trim());
  const amount = match ? Number(match[1]) : 0;
  if (!match || amount < 1) {
    throw new DateInputError(`${option} must be a number with d (days), m (months) or y (years), e.g. 24m or 730d, not "${text}"`);
  }
  return cutoffMonthsOrDays(now, amount, match[2]!.toLowerCase() as 'd' | 'm' | 'y');
}

export function cutoffMonthsOrDays(now: Date, amount: number, unit: 'd' | 'm' | 'y'): number {
  if (unit === 'd') return now.getTime() - amount * DAY_MS;
  const months = unit === 'y' ? amount * 12 : amount;
  const cut = new Date(now.getTime());
  cut.setUTCMonth(cut.getUTCMonth() - months);
  return cut.getTime();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
