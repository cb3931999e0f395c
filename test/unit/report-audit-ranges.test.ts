import { describe, expect, it } from 'vitest';
import { rangeConditions, rangeParams, receivedRanges, type KeyRange } from '../../src/report/audit-ranges.js';
import { openDatabase } from '../../src/store/open-database.js';

// The export's ranges must hold every case once, in order, whatever received_at holds.
describe('received_at ranges', () => {
  const db = openDatabase(':memory:');
  const insert = db.prepare(`INSERT INTO cases (message_key, received_at, category, action, confidence, status, reasons, policy_version,
    policy_hash, created_at, updated_at) VALUES (?, ?, 'c', 'a', 0, 's', '[]', 'v', 'h', 0, 0)`);
  // Ties longer than a range, reals, integers past 2^53, text and a blob (SQLite keeps what it is given).
  const keys: unknown[] = [5, 5, 5, 5, 5, 5, 5, 1.5, -3, 2 ** 53 + 2, BigInt(2 ** 53) + 1n, 'text', 'text', 'zz', Buffer.from([1, 2]), 7, 8, 9, 10];
  keys.forEach((key, i) => insert.run(`k${i}`, key));
  // As the export reads them: a range's cases, within the filter's own dates (the last range is open-ended).
  const casesIn = (ranges: Iterable<KeyRange>, filter: Parameters<typeof receivedRanges>[1]): number[] =>
    [...ranges].flatMap((range) => {
      const dates = [filter.since === undefined ? [] : ['received_at >= @since'], filter.until === undefined ? [] : ['received_at < @until']].flat();
      return db
        .prepare(`SELECT id FROM cases WHERE ${[...rangeConditions(range), ...dates].join(' AND ')} ORDER BY received_at, id`)
        .pluck()
        .all({ ...rangeParams(range), ...filter }) as number[];
    });
  const ids = (filter: Parameters<typeof receivedRanges>[1], rows: number): number[] => casesIn(receivedRanges(db, filter, rows), filter);
  const all = (where = ''): number[] => db.prepare(`SELECT id FROM cases ${where} ORDER BY received_at, id`).pluck().all() as number[];

  it('cover every case once, in export order', () => {
    for (const rows of [1, 2, 3, 100]) expect(ids({}, rows)).toEqual(all());
  });

  it('keep to --since and --until', () => {
    expect(ids({ since: 5, until: 9 }, 2)).toEqual(all('WHERE received_at >= 5 AND received_at < 9'));
    expect(ids({ since: 6 }, 1)).toEqual(all('WHERE received_at >= 6'));
  });

  it('ranges cut within each of its own coarser ranges cover every case once, in order', () => {
    for (const filter of [{}, { since: 5, until: 9 }, { since: 6 }]) {
      for (const [outer, inner] of [[4, 1], [5, 2], [3, 100]] as const) {
        const nested = [...receivedRanges(db, filter, outer)].flatMap((group) => [...receivedRanges(db, filter, inner, group)]);
        expect(casesIn(nested, filter)).toEqual(ids(filter, inner));
      }
    }
  });

  it('a run of cases received in the same millisecond is cut like any other', () => {
    const ranges = [...receivedRanges(db, {}, 2)];
    expect(ranges.filter((range) => range.from[0] === 5n)).toHaveLength(4);
    expect(ranges.length).toBe(Math.ceil(keys.length / 2));
  });
});
