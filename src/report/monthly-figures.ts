import type { Db } from '../store/open-database.js';
import { shiftMonth, type MonthRange } from './dates.js';
import { describeWhyToPerson } from '../core/why-to-person.js';
import { hasColumn } from '../store/schema-info.js';

/** The figures of one month's LMC report; the HTML, CSV and JSON forms all carry these. */
export interface MonthlyFigures {
  month: string;
  includesDryRun: boolean;
  total: number;
  byTrustCategory: Array<{ organisation: string; category: string; count: number }>;
  trend: Array<{ month: string; total: number; replied: number }>;
  outcomes: Array<{ status: string; count: number }>;
  repliesBySender: Array<{ mailbox: string; organisation: string; count: number }>;
  /** Minutes from receipt to reply, over the replies sent this month; null when none. */
  medianMinutesToReply: number | null;
  replied: number;
  policyVersions: Array<{ version: string; hash: string; count: number; first: string; last: string }>;
  /**
   * The month's cases that went to a person, by why (the key of core/why-to-person.ts, in words
   * beside it), and how many of them still wait; null for a log no worker of this version has opened
   * yet (it has no such count: migration 9).
   */
  toPerson: Array<{ why: string; words: string; count: number; waiting: number }> | null;
}

export const NOT_LISTED = '(not a listed hospital)';

/**
 * Every figure is one SQL aggregate over an indexed received_at range (the covering index
 * cases_report from migration 2), so a month of a million-case log costs milliseconds. They are read
 * in one read transaction: the worker may log cases meanwhile, and the totals, outcomes and trend of
 * one report must add up.
 */
export function monthlyFigures(db: Db, range: MonthRange, options: { includeDryRun?: boolean } = {}): MonthlyFigures {
  return db.transaction(() => figuresOfMonth(db, range, options))();
}

function figuresOfMonth(db: Db, range: MonthRange, options: { includeDryRun?: boolean }): MonthlyFigures {
  const includeDryRun = Boolean(options.includeDryRun);
  const dry = includeDryRun ? '' : 'AND dry_run = 0';
  const params = { start: range.start, end: range.end };
  const inMonth = `received_at >= @start AND received_at < @end ${dry}`;

  const byTrustCategory = db
    .prepare(`SELECT COALESCE(organisation, '${NOT_LISTED}') AS organisation, category, COUNT(*) AS count FROM cases WHERE ${inMonth} GROUP BY category, 1 ORDER BY 1, 2`)
    .all(params) as MonthlyFigures['byTrustCategory'];
  const outcomes = db.prepare(`SELECT status, COUNT(*) AS count FROM cases WHERE ${inMonth} GROUP BY status ORDER BY count DESC, status`).all(params) as MonthlyFigures['outcomes'];
  const total = outcomes.reduce((sum, o) => sum + o.count, 0);

  const trendStatement = db.prepare(`SELECT COUNT(*) AS total, COALESCE(SUM(status = 'replied'), 0) AS replied FROM cases WHERE ${inMonth}`);
  const trend: MonthlyFigures['trend'] = [];
  for (let offset = -11; offset <= 0; offset++) {
    const m = shiftMonth(range, offset);
    const row = trendStatement.get({ start: m.start, end: m.end }) as { total: number; replied: number };
    trend.push({ month: m.month, total: row.total, replied: row.replied });
  }

  const repliesBySender = db
    .prepare(
      `SELECT COALESCE(reply_to_address, from_address, '(unknown)') AS mailbox, COALESCE(organisation, '${NOT_LISTED}') AS organisation, COUNT(*) AS count
       FROM cases WHERE ${inMonth} AND status = 'replied' GROUP BY 1, 2 ORDER BY count DESC, mailbox LIMIT 50`,
    )
    .all(params) as MonthlyFigures['repliesBySender'];

  // One pass over the month's replies gives their number and the median: the times in order.
  const times = db
    .prepare(`SELECT replied_at - received_at FROM cases WHERE ${inMonth} AND status = 'replied' AND replied_at IS NOT NULL ORDER BY 1`)
    .pluck()
    .all(params) as number[];
  const replied = times.length;
  let medianMinutesToReply: number | null = null;
  if (replied > 0) {
    const values = times.slice(Math.floor((replied - 1) / 2), Math.floor((replied - 1) / 2) + (replied % 2 === 0 ? 2 : 1));
    medianMinutesToReply = Math.round(values.reduce((a, b) => a + b, 0) / values.length / 600) / 100;
  }

  const policyVersions = (
    db
      .prepare(`SELECT policy_version AS version, policy_hash AS hash, COUNT(*) AS count, MIN(received_at) AS first, MAX(received_at) AS last FROM cases WHERE ${inMonth} GROUP BY 1, 2 ORDER BY first`)
      .all(params) as Array<{ version: string; hash: string; count: number; first: number; last: number }>
  ).map((v) => ({ ...v, first: new Date(v.first).toISOString(), last: new Date(v.last).toISOString() }));

  const toPerson = hasColumn(db, 'cases', 'to_person')
    ? (
        db
          .prepare(
            `SELECT to_person AS why, COUNT(*) AS count, COALESCE(SUM(status IN ('review', 'awaiting_approval')), 0) AS waiting
             FROM cases WHERE ${inMonth} AND to_person IS NOT NULL GROUP BY 1 ORDER BY count DESC, why`,
          )
          .all(params) as Array<{ why: string; count: number; waiting: number }>
      ).map((r) => ({ why: r.why, words: describeWhyToPerson(r.why), count: r.count, waiting: r.waiting }))
    : null;

  return { month: range.month, includesDryRun: includeDryRun, total, byTrustCategory, trend, outcomes, repliesBySender, medianMinutesToReply, replied, policyVersions, toPerson };
}

/** The same figures as flat rows (one header row) for the ICB's spreadsheets. */
export function figuresAsRows(figures: MonthlyFigures): Array<[string, string, string, string | number | null]> {
  const rows: Array<[string, string, string, string | number | null]> = [['section', 'key', 'subkey', 'value']];
  rows.push(['summary', 'month', '', figures.month]);
  rows.push(['summary', 'total cases', '', figures.total]);
  rows.push(['summary', 'replied', '', figures.replied]);
  rows.push(['summary', 'median minutes to reply', '', figures.medianMinutesToReply]);
  for (const r of figures.byTrustCategory) rows.push(['trust x category', r.organisation, r.category, r.count]);
  for (const r of figures.trend) rows.push(['trend total', r.month, '', r.total]);
  for (const r of figures.trend) rows.push(['trend replied', r.month, '', r.replied]);
  for (const r of figures.outcomes) rows.push(['outcome', r.status, '', r.count]);
  for (const r of figures.repliesBySender) rows.push(['replies by sender mailbox', r.mailbox, r.organisation, r.count]);
  for (const r of figures.toPerson ?? []) rows.push(['to a person, why', r.why, r.words, r.count]);
  for (const r of figures.toPerson ?? []) rows.push(['to a person, still waiting', r.why, r.words, r.waiting]);
  for (const r of figures.policyVersions) rows.push(['policy version', r.version, r.hash, r.count]);
  return rows;
}
