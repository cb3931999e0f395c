import pino, { type Logger } from 'pino';

/**
 * Structured logs on stderr (stdout is for command output). Secrets are redacted by key wherever
 * they appear, as a second line of defence: settings are never logged whole in the first place.
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { app: 'pcn-autoreply' },
      redact: {
        paths: ['password', 'pass', 'accessToken', 'refreshToken', 'clientSecret', '*.password', '*.pass', '*.accessToken', '*.refreshToken', '*.clientSecret', 'IMAP_PASSWORD', 'SMTP_PASSWORD', 'AZURE_CLIENT_SECRET'],
        censor: '[hidden]',
      },
    },
    destination as pino.DestinationStream,
  );
}
