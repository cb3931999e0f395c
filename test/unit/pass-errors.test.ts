import { describe, expect, it } from 'vitest';
import { asUserError } from '../../src/cli/pass-command.js';
import { UserError } from '../../src/cli/user-error.js';

const sqliteError = (code: string): Error => Object.assign(new Error('disk I/O error'), { code });

describe('asUserError: a case log the pass cannot write', () => {
  // better-sqlite3 reports SQLite's extended codes: a disk quota or file-size limit is SQLITE_IOERR_WRITE.
  it.each(['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED'])(
    '%s ends the pass with exit 1 and says what to do, not "unexpected error"',
    (code) => {
      const error = asUserError(sqliteError(code));
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).exitCode).toBe(1);
      expect((error as UserError).message).toBe(
        `the database could not be written (${code}): the pass stopped without losing state; free disk space or stop the other program using it`,
      );
    },
  );

  it.each(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_CORRUPT', 'SQLITE_FULLY'])('%s is left as it is: not a disk or lock the user can free', (code) => {
    const error = sqliteError(code);
    expect(asUserError(error)).toBe(error);
  });
});
