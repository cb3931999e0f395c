import type { Logger } from 'pino';
import type { Settings } from '../settings/load-settings.js';
import { UserError } from '../cli/user-error.js';

/** OAuth 2.0 access tokens for IMAP and SMTP (XOAUTH2). */
export async function createTokenGetter(settings: Settings, logger: Logger): Promise<() => Promise<string>> {
  void settings;
  void logger;
  throw new UserError('IMAP_AUTH=oauth2 / SMTP_AUTH=oauth2 is not available in this build yet');
}
