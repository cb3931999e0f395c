import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../cli/user-error.js';

/**
 * The delegated sign-in kept between runs (OAUTH_TOKEN_FILE). It holds a refresh token, so it is
 * written readable by its owner only (0600), via a temporary file and a rename so a crash never
 * leaves half a file. Microsoft issues a new refresh token on each refresh: the file is rewritten
 * each time msal's cache changes, so the newest one is always what is kept.
 */
export interface TokenFileContent {
  version: 1;
  /** Who signed in (the address shown by `auth login`), and msal's id for the account. */
  username: string;
  homeAccountId: string;
  signedInAt: string;
  /** When a refresh token was last received: Microsoft drops one unused for 90 days. */
  refreshedAt: string;
  /** msal's serialized token cache (refresh token included). */
  msalCache: string;
}

export function readTokenFile(path: string): TokenFileContent | null {
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new UserError(`OAUTH_TOKEN_FILE ${path} is damaged (not JSON): delete it and run \`pcn-autoreply auth login\` again`);
  }
  const content = parsed as Partial<TokenFileContent>;
  if (content.version !== 1 || typeof content.msalCache !== 'string' || typeof content.homeAccountId !== 'string') {
    throw new UserError(`OAUTH_TOKEN_FILE ${path} is not a sign-in file of this program: delete it and run \`pcn-autoreply auth login\` again`);
  }
  return content as TokenFileContent;
}

export function writeTokenFile(path: string, content: TokenFileContent): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is reduced by the umask and ignored for an existing file.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
