/**
 * The UK's civil time (Europe/London) without Intl. An Intl.DateTimeFormat loads ICU's locale and
 * time-zone data, 7-9 MB of the worker's peak memory in a dry run (issue 7: RSS < 150 MB;
 * docs/benchmark-history.md), for the date in a reply and the working-hours check. Pure.
 *
 * The rule is the UK's since 1996 (the Summer Time orders, matching the EU's directive): British
 * Summer Time, UTC+1, from 01:00 UTC on the last Sunday in March to 01:00 UTC on the last Sunday in
 * October; Greenwich Mean Time otherwise. Years outside FIRST_RULE_YEAR..LAST_RULE_YEAR (a Date
 * header can say anything) are left to Intl, as before. test/unit/uk-time.test.ts holds the rule to
 * Intl's own time-zone data hour by hour from 1996 to 2035, and at every change up to 2199.
 */

export interface UkLocalTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  /** 0 = Sunday ... 6 = Saturday. */
  weekday: number;
  hour: number;
  minute: number;
}

const FIRST_RULE_YEAR = 1996;
const LAST_RULE_YEAR = 2199;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** 01:00 UTC on the last Sunday of the month (0-based) of `year`. */
function lastSundayAtOneUtc(year: number, month: number): number {
  const lastDay = Date.UTC(year, month + 1, 0, 1);
  return lastDay - new Date(lastDay).getUTCDay() * DAY_MS;
}

function ruleCovers(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= FIRST_RULE_YEAR && year <= LAST_RULE_YEAR;
}

/** How far the UK's clocks are ahead of UTC at `date` (none, or an hour), for a date the rule covers. */
function offsetMs(date: Date): number {
  const year = date.getUTCFullYear();
  const at = date.getTime();
  return at >= lastSundayAtOneUtc(year, 2) && at < lastSundayAtOneUtc(year, 9) ? HOUR_MS : 0;
}

let intlParts: Intl.DateTimeFormat | undefined;
let intlDate: Intl.DateTimeFormat | undefined;

function ukLocalTimeFromIntl(date: Date): UkLocalTime {
  intlParts ??= new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const parts = intlParts.formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? '';
  return { year: Number(get('year')), month: Number(get('month')), day: Number(get('day')), weekday: WEEKDAYS.indexOf(get('weekday')), hour: Number(get('hour')), minute: Number(get('minute')) };
}

function ukLocalTimeByRule(date: Date): UkLocalTime {
  const local = new Date(date.getTime() + offsetMs(date));
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), weekday: local.getUTCDay(), hour: local.getUTCHours(), minute: local.getUTCMinutes() };
}

/** The date and time on a clock in the UK at `date`. */
export function ukLocalTime(date: Date): UkLocalTime {
  return ruleCovers(date) ? ukLocalTimeByRule(date) : ukLocalTimeFromIntl(date);
}

/** "16 November 2026": the day `date` fell on in the UK, as en-GB writes it in full. */
export function formatUkDate(date: Date): string {
  if (!ruleCovers(date)) {
    intlDate ??= new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
    return intlDate.format(date);
  }
  const { year, month, day } = ukLocalTimeByRule(date);
  return `${day} ${MONTH_NAMES[month - 1]!} ${year}`;
}
