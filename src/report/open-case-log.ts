import { existsSync } from 'node:fs';
import { openDatabase, type Db } from '../store/open-database.js';
import { UserError } from '../cli/user-error.js';
import { DateInputError } from './dates.js';

/**
 * The database a reporting command reads: --database, else DATABASE_PATH, else the default. The
 * settings (and zod, which checks them: a tenth of a second) are loaded only when needed.
 */
export async function caseLogPath(explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  const { loadSettings, SettingsError } = await import('../settings/load-settings.js');
  try {
    return loadSettings().DATABASE_PATH;
  } catch (error) {
    if (error instanceof SettingsError) throw new UserError(error.message);
    throw error;
  }
}

/** Open the case log for a command; a missing file is a user's mistake, not a new empty log. */
export async function openCaseLog(explicit: string | undefined, options: { readonly: boolean }): Promise<Db> {
  const path = await caseLogPath(explicit);
  if (!existsSync(path)) throw new UserError(`no case log at ${path} (give --database FILE or set DATABASE_PATH)`);
  try {
    const db = openDatabase(path, options);
    // Exports walk the received_at index and fetch each row from wherever it lies in the file:
    // through a memory map those reads cost a copy, not a system call and a cache page each.
    if (options.readonly) db.pragma('mmap_size = 4294967296');
    return db;
  } catch (error) {
    throw new UserError(`cannot open the case log ${path}: ${(error as Error).message}`, 1);
  }
}

/** Run a parse of user input, turning a DateInputError into a one-line usage error (exit 2). */
export function userInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof DateInputError) throw new UserError(error.message, 2);
    throw error;
  }
}
