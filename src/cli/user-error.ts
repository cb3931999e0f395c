/**
 * A problem the user can fix (bad settings, a missing file, a server that refuses us).
 * The CLI prints its message alone, without a stack trace, and exits with exitCode.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * SQLite's codes for a case log that cannot be written, with the extended codes better-sqlite3
 * reports: a full disk is SQLITE_FULL, a disk quota or file-size limit SQLITE_IOERR_WRITE, another
 * program's lock SQLITE_BUSY or SQLITE_BUSY_*. The code when the error is one of them.
 */
export function databaseNotWritable(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|BUSY|IOERR|READONLY)(_[A-Z_]+)?$/.test(code) ? code : undefined;
}

/** SQLite's codes for a file that is damaged or is not a database at all. */
export function databaseUnreadable(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)(_[A-Z_]+)?$/.test(code) ? code : undefined;
}

/**
 * A failed write to the command's output (stdout: a file on a full disk, a quota, a device error),
 * as the error code; a closed pipe (EPIPE: `audit | head`) is not a failure and is not one of them.
 */
export function outputNotWritable(error: unknown): string | undefined {
  const { code, syscall } = (error ?? {}) as { code?: unknown; syscall?: unknown };
  return typeof code === 'string' && code !== 'EPIPE' && (syscall === 'write' || syscall === 'writev') ? code : undefined;
}

export const outputNotWritableMessage = (code: string): string =>
  `pcn-autoreply: the output could not be written (${code}): free space where it goes, or send it to another file\n`;
