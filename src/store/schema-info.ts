import type { Db } from './open-database.js';

/**
 * Whether the case log has a column: a reporting command opens the log read-only and cannot migrate
 * it, so a log no worker of this version has opened yet lacks the newest columns.
 */
export function hasColumn(db: Db, table: string, column: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}
