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
