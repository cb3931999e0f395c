import type { Db } from '../store/open-database.js';
import type { AuditFilter } from './audit-records.js';

/**
 * A case's place in export order: its received_at as SQLite stores it, then its id. The column is
 * declared INTEGER but SQLite keeps what it is given (a REAL, or text that is not a number), so a
 * key keeps its storage class: integers come back as bigint (exact beyond 2^53), the rest as
 * numbers, strings or buffers, and are bound again as such.
 */
export type SortKey = readonly [receivedAt: bigint | number | string | Buffer, id: bigint];

/** The cases from `from` (inclusive) up to `to` (exclusive; when absent, to the end), in export order. */
export interface KeyRange {
  from: SortKey;
  to?: SortKey;
}

/**
 * Consecutive ranges of `rows` cases each, in export order (received_at, then id), that together
 * hold every case the filter's dates admit. The export builds each range's lines in one SQLite
 * call: a million rows become a few thousand values crossing into JavaScript, not a million. Ranges
 * are cut by (received_at, id), so a run of cases received in the same millisecond (a back-filled
 * log) is cut too, and no range grows past `rows`. Only the received_at index is read (it holds the
 * id: no table rows); the other filters are left to the export's own query, so a range may hold
 * fewer matching cases, or none.
 */
export function* receivedRanges(db: Db, filter: AuditFilter, rows: number): Generator<KeyRange> {
  const dates = [filter.since === undefined ? '' : 'AND received_at >= @since', filter.until === undefined ? '' : 'AND received_at < @until'].join(' ');
  const bounds = { ...(filter.since === undefined ? {} : { since: filter.since }), ...(filter.until === undefined ? {} : { until: filter.until }) };
  const first = db.prepare(`SELECT received_at, id FROM cases WHERE 1 ${dates} ORDER BY received_at, id LIMIT 1`).safeIntegers(true).raw();
  const ahead = db
    .prepare(`SELECT received_at, id FROM cases WHERE (received_at, id) >= (@fromAt, @fromId) ${dates} ORDER BY received_at, id LIMIT 1 OFFSET @rows`)
    .safeIntegers(true)
    .raw();
  let from = first.get(bounds) as SortKey | undefined;
  while (from !== undefined) {
    const to = ahead.get({ ...bounds, fromAt: from[0], fromId: from[1], rows }) as SortKey | undefined;
    yield to === undefined ? { from } : { from, to };
    from = to;
  }
}

/** The conditions that keep a query to one range, bound by rangeParams. */
export function rangeConditions(range: KeyRange): string[] {
  const from = '(received_at, id) >= (@rangeFromAt, @rangeFromId)';
  return range.to === undefined ? [from] : [from, '(received_at, id) < (@rangeToAt, @rangeToId)'];
}

export function rangeParams(range: KeyRange): Record<string, SortKey[number]> {
  const from = { rangeFromAt: range.from[0], rangeFromId: range.from[1] };
  return range.to === undefined ? from : { ...from, rangeToAt: range.to[0], rangeToId: range.to[1] };
}
