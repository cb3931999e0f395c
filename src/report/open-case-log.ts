import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
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

/**
 * Open the case log for a command; a missing file is a user's mistake, not a new empty log, and so is
 * a file that is not a case log (another database, or not a database at all): it is said so here,
 * before anything is read or written, instead of failing at the first query or being given the
 * case log's tables.
 */
export async function openCaseLog(explicit: string | undefined, options: { readonly: boolean }): Promise<Db> {
  const path = await caseLogPath(explicit);
  if (!existsSync(path)) throw new UserError(`no case log at ${path} (give --database FILE or set DATABASE_PATH)`);
  const notACaseLog = whyNotACaseLog(path);
  if (notACaseLog) throw new UserError(`${path} is not a case log of pcn-autoreply (${notACaseLog}): check --database or DATABASE_PATH`, 1);
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

/** Why the file is not a case log, or undefined when it is one (a database with the cases table). */
function whyNotACaseLog(path: string): string | undefined {
  let probe: Db | undefined;
  try {
    // SQLite reads a file only at the first statement: this one reads its header and schema.
    probe = new Database(path, { readonly: true, fileMustExist: true });
    const hasCases = probe.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cases'").get() !== undefined;
    return hasCases ? undefined : 'a database without the cases table';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // A log held by a writer, or a folder this user may not write, is a case log all the same: opening it says what is wrong.
    if (typeof code === 'string' && /^SQLITE_(BUSY|CANTOPEN|READONLY)/.test(code)) return undefined;
    return (error as Error).message;
  } finally {
    probe?.close();
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
