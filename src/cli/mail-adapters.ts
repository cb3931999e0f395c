import type { Logger } from 'pino';
import type { MailSource } from '../mail/mail-source.js';
import { DirSource } from '../mail/dir-source.js';
import { ImapSource } from '../mail/imap-source.js';
import { OutboxSender, SmtpSender, type ReplySender } from '../mail/reply-sender.js';
import type { Settings } from '../settings/load-settings.js';
import { benchStatsFromEnv } from './bench-stats.js';
import { UserError } from './user-error.js';

/** Fetches OAuth 2.0 access tokens; provided by src/auth when IMAP_AUTH or SMTP_AUTH is oauth2. */
export type TokenGetter = () => Promise<string>;

/** `dir:PATH` reads a folder of .eml files; anything else is refused with the accepted forms. */
export function parseSourceOption(value: string | undefined): { kind: 'imap' } | { kind: 'dir'; path: string } {
  if (!value || value === 'imap') return { kind: 'imap' };
  if (value.startsWith('dir:') && value.length > 4) return { kind: 'dir', path: value.slice(4) };
  throw new UserError(`--source must be "imap" or "dir:PATH" (a folder of .eml files), not "${value}"`);
}

export function createSource(settings: Settings, source: ReturnType<typeof parseSourceOption>, token?: TokenGetter, logger?: Pick<Logger, 'warn'>): MailSource {
  if (source.kind === 'dir') return new DirSource(source.path);
  return new ImapSource({
    host: settings.IMAP_HOST!,
    port: settings.IMAP_PORT,
    secure: settings.IMAP_SECURE,
    user: settings.IMAP_USER!,
    password: settings.IMAP_PASSWORD,
    accessToken: settings.IMAP_AUTH === 'oauth2' ? token : undefined,
    mailbox: settings.IMAP_MAILBOX,
    tlsRejectUnauthorized: settings.IMAP_TLS_REJECT_UNAUTHORIZED,
    tlsCaFile: settings.IMAP_TLS_CA_FILE,
    timeoutMs: settings.IMAP_TIMEOUT_MS,
    onCommand: benchStatsFromEnv()?.onCommand,
    bulkReads: settings.IMAP_SECOND_CONNECTION,
    onNotice: logger ? (message) => logger.warn(message) : undefined,
  });
}

export function createSender(settings: Settings, outbox: string | undefined, token?: TokenGetter): ReplySender {
  if (outbox) return new OutboxSender(outbox);
  const user = settings.SMTP_USER ?? settings.MAIL_FROM!;
  return new SmtpSender({
    host: settings.SMTP_HOST!,
    port: settings.SMTP_PORT,
    secure: settings.SMTP_SECURE,
    auth:
      settings.SMTP_AUTH === 'none'
        ? null
        : settings.SMTP_AUTH === 'oauth2'
          ? { type: 'oauth2', user, accessToken: token! }
          : { type: 'password', user, pass: settings.SMTP_PASSWORD ?? '' },
    tlsRejectUnauthorized: settings.SMTP_TLS_REJECT_UNAUTHORIZED,
    timeoutMs: settings.IMAP_TIMEOUT_MS,
  });
}
