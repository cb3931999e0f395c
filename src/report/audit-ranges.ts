import type { Db } from '../store/open-database.js';
import type { AuditFilter } from './audit-records.js';

/**
 * A received_at value as SQLite stores it. The column is declared INTEGER but SQLite keeps what it
 * is given (a REAL, or text that is not a number), so a key keeps its storage class: integers come
 * back as bigint (exact beyond 2^53), the rest as numbers, strings or buffers, and bound again as such.
 */
export type SortKey = bigint | number | string | Buffer;

/** received_at >= from and, when to is given, received_at < to: every case of one received_at in one range. */
export interface KeyRange {
  from: SortKey;
  to?: SortKey;
}

/**
 * Consecutive received_at ranges of about `rows` cases each, in export order (received_at, then id),
 * that together hold every case the filter's dates admit. The export builds each range's lines in
 * one SQLite call: a million rows become a few thousand values crossing into JavaScript, not a million.
 * Only received_at is read, from its index (a covering index walk, no table rows): the other filters
 * are left to the export's own query, so a range may hold fewer matching cases, or none.
 */
export function* receivedRanges(db: Db, filter: AuditFilter, rows: number): Generator<KeyRange> {
  const until = filter.until === undefined ? '' : 'AND received_at < @until';
  const bounds = filter.until === undefined ? {} : { until: filter.until };
  const first = db
    .prepare(`SELECT received_at FROM cases WHERE received_at >= @since ${until} ORDER BY received_at LIMIT 1`)
    .safeIntegers(true)
    .pluck();
  // The received_at `rows` cases on; when that is still `from` (more ties than `rows`), the next value after it.
  const ahead = db
    .prepare(`SELECT received_at FROM cases WHERE received_at >= @from ${until} ORDER BY received_at LIMIT 1 OFFSET @rows`)
    .safeIntegers(true)
    .pluck();
  const after = db.prepare(`SELECT received_at FROM cases WHERE received_at > @from ${until} ORDER BY received_at LIMIT 1`).safeIntegers(true).pluck();
  // No --since: start below every number (text and blob keys sort after all numbers, so they are found too).
  let from = first.get({ ...bounds, since: filter.since ?? -Infinity }) as SortKey | undefined;
  while (from !== undefined) {
    let to = ahead.get({ ...bounds, from, rows }) as SortKey | undefined;
    if (to !== undefined && sameKey(to, from)) to = after.get({ ...bounds, from }) as SortKey | undefined;
    yield to === undefined ? { from } : { from, to };
    from = to;
  }
}

/** The conditions that keep a query to one range, bound by rangeParams. */
export function rangeConditions(range: KeyRange): string[] {
  return range.to === undefined ? ['received_at >= @rangeFrom'] : ['received_at >= @rangeFrom', 'received_at < @rangeTo'];
}

export function rangeParams(range: KeyRange): Record<string, SortKey> {
  return range.to === undefined ? { rangeFrom: range.from } : { rangeFrom: range.from, rangeTo: range.to };
}

function sameKey(a: SortKey, b: SortKey): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  // A bigint and a number holding the same value are the same key to SQLite (1 = 1.0).
  return typeof a === 'string' || typeof b === 'string' ? a === b : a == b;
}
