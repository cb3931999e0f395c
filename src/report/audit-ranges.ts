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
 * fewer matching cases, or none. `within`, a range this function gave for the same filter, keeps the
 * ranges to that stretch of the export (a group of the parallel export, audit-parallel.ts), the
 * last one ending where the stretch ends.
 */
export function* receivedRanges(db: Db, filter: AuditFilter, rows: number, within?: KeyRange): Generator<KeyRange> {
  // A bounded stretch (one of this function's own ranges for the same filter) lies within the
  // filter's dates: its end replaces them. With both, SQLite may take --until as the step's upper
  // bound and scan the rest of the period for the step that runs past the stretch's end.
  const dates =
    within?.to !== undefined
      ? ['AND (received_at, id) < (@withinToAt, @withinToId)']
      : [filter.since === undefined ? '' : 'AND received_at >= @since', filter.until === undefined ? '' : 'AND received_at < @until'];
  const bounds = {
    ...(filter.since === undefined || within?.to !== undefined ? {} : { since: filter.since }),
    ...(filter.until === undefined || within?.to !== undefined ? {} : { until: filter.until }),
    ...(within?.to !== undefined ? { withinToAt: within.to[0], withinToId: within.to[1] } : {}),
  };
  const ahead = db
    .prepare(`SELECT received_at, id FROM cases WHERE (received_at, id) >= (@fromAt, @fromId) ${dates.join(' ')} ORDER BY received_at, id LIMIT 1 OFFSET @rows`)
    .safeIntegers(true)
    .raw();
  // A stretch starts at a case's key (it is one of these ranges): no query needed to find it.
  let from = within
    ? within.from
    : (db.prepare(`SELECT received_at, id FROM cases WHERE 1 ${dates.join(' ')} ORDER BY received_at, id LIMIT 1`).safeIntegers(true).raw().get(bounds) as SortKey | undefined);
  while (from !== undefined) {
    const to = ahead.get({ ...bounds, fromAt: from[0], fromId: from[1], rows }) as SortKey | undefined;
    // The last range within a bounded stretch ends where the stretch does.
    const end = to ?? within?.to;
    yield end === undefined ? { from } : { from, to: end };
    from = to;
  }
}

/** The conditions that keep a query to one range, bound by rangeParams. */
export function rangeConditions(range: KeyRange, name = 'range'): string[] {
  const from = `(received_at, id) >= (@${name}FromAt, @${name}FromId)`;
  return range.to === undefined ? [from] : [from, `(received_at, id) < (@${name}ToAt, @${name}ToId)`];
}

export function rangeParams(range: KeyRange, name = 'range'): Record<string, SortKey[number]> {
  const from = { [`${name}FromAt`]: range.from[0], [`${name}FromId`]: range.from[1] };
  return range.to === undefined ? from : { ...from, [`${name}ToAt`]: range.to[0], [`${name}ToId`]: range.to[1] };
}
