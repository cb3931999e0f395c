import { existsSync, readFileSync } from 'node:fs';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';

/**
 * Settings come from the environment, and from a `.env` file when present (the environment wins).
 * Names are fixed: operators and scripts rely on them. Secrets are never printed: see redactedSettings.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value)));
const port = (fallback: number) =>
  z.coerce.number({ message: 'must be a port number' }).int().min(1).max(65535).default(fallback);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const envSchema = z.object({
  IMAP_HOST: optionalText,
  IMAP_PORT: port(993),
  IMAP_SECURE: bool(true),
  IMAP_USER: optionalText,
  IMAP_PASSWORD: optionalText,
  IMAP_MAILBOX: z.string().default('INBOX'),
  IMAP_TLS_REJECT_UNAUTHORIZED: bool(true),
  IMAP_TLS_CA_FILE: optionalText,
  IMAP_AUTH: z.enum(['password', 'oauth2'], { message: 'must be password or oauth2' }).default('password'),
  IMAP_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  IMAP_SECOND_CONNECTION: bool(true),
  SMTP_HOST: optionalText,
  SMTP_PORT: port(587),
  SMTP_SECURE: bool(false),
  SMTP_USER: optionalText,
  SMTP_PASSWORD: optionalText,
  SMTP_AUTH: z.enum(['password', 'oauth2', 'none'], { message: 'must be password, oauth2 or none' }).default('password'),
  SMTP_TLS_REJECT_UNAUTHORIZED: bool(true),
  SMTP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  SMTP_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(2000),
  // The bare address: the worker compares senders with it (its own mail is never answered) and
  // takes the domain of its replies' Message-IDs from it, so a name or <> would break both.
  MAIL_FROM: optionalText.refine(
    (value) => value === undefined || /^[^\s@<>()",;:]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(value),
    'must be the bare address replies come from, such as rivermarsh.pcnalliance@nhs.net (no name, no <>)',
  ),
  POLICY_FILE: z.string().default('config/policy.yaml'),
  /** Reply templates; defaults to the templates/ folder shipped with the program. */
  TEMPLATES_DIR: optionalText,
  DATABASE_PATH: z.string().default('data/pcn-autoreply.sqlite'),
  SCHEDULE: z.string().default('*/5 * * * *').refine((value) => validateCron(value), 'is not a valid cron expression (e.g. */5 * * * *)'),
  KILL_SWITCH: bool(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AZURE_TENANT_ID: optionalText,
  AZURE_CLIENT_ID: optionalText,
  AZURE_CLIENT_SECRET: optionalText,
  AZURE_CLIENT_CERT_PATH: optionalText,
  AZURE_CLIENT_CERT_THUMBPRINT: optionalText,
  AZURE_AUTHORITY_HOST: optionalText,
  OAUTH_TOKEN_FILE: z.string().default('data/oauth-token.json'),
  AZURE_AUTH_FLOW: optionalText.pipe(z.enum(['client-credentials', 'device'], { message: 'must be client-credentials or device' }).optional()),
  AZURE_CLIENT_SECRET_EXPIRES: optionalText.pipe(z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date such as 2027-03-31 (the expiry shown beside the secret in the app registration)')
    .optional()),
});

export type RawSettings = z.infer<typeof envSchema>;

export interface Settings extends RawSettings {
  /** Where the values came from, for messages. */
  envFile: string | null;
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`the settings are not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

export interface SettingsNeeds {
  imap?: boolean;
  smtp?: boolean;
}

/** Secret settings: never printed or logged. */
export const SECRET_KEYS = ['IMAP_PASSWORD', 'SMTP_PASSWORD', 'AZURE_CLIENT_SECRET'] as const;

export function loadSettings(env: NodeJS.ProcessEnv = process.env, needs: SettingsNeeds = {}, envFile = '.env'): Settings {
  const merged: Record<string, string | undefined> = { ...readEnvFile(envFile), ...env };
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    throw new SettingsError(parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}${hintFor(String(issue.path[0]))}`));
  }
  const settings: Settings = { ...parsed.data, envFile: existsSync(envFile) ? envFile : null };
  const problems = requiredProblems(settings, needs);
  if (problems.length) throw new SettingsError(problems);
  return settings;
}

function requiredProblems(s: Settings, needs: SettingsNeeds): string[] {
  const problems: string[] = [];
  const need = (key: keyof RawSettings, why: string) => {
    if (s[key] === undefined) problems.push(`${key} is not set: ${why}`);
  };
  if (needs.imap) {
    need('IMAP_HOST', 'the IMAP server of the shared mailbox (outlook.office365.com for NHSmail)');
    need('IMAP_USER', 'the shared mailbox address');
    if (s.IMAP_AUTH === 'password') need('IMAP_PASSWORD', 'the mailbox password (or set IMAP_AUTH=oauth2 for NHSmail)');
  }
  if (needs.smtp) {
    need('SMTP_HOST', 'the SMTP server that sends the replies (smtp.office365.com for NHSmail)');
    need('MAIL_FROM', 'the address replies are sent from (the shared mailbox)');
    if (s.SMTP_AUTH === 'password') {
      need('SMTP_USER', 'the SMTP login (or set SMTP_AUTH=none for a relay that needs none)');
      need('SMTP_PASSWORD', 'the SMTP password (or set SMTP_AUTH=oauth2 for NHSmail)');
    }
  }
  if ((needs.imap && s.IMAP_AUTH === 'oauth2') || (needs.smtp && s.SMTP_AUTH === 'oauth2')) {
    need('AZURE_TENANT_ID', 'the NHSmail tenant id given by your NHSmail Local Administrator');
    need('AZURE_CLIENT_ID', 'the application (client) id of the app registration');
  }
  return problems;
}

function hintFor(key: string): string {
  return key === 'SCHEDULE' ? ' (five fields: minute hour day month weekday)' : '';
}

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    let value = match[2]!;
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    values[match[1]!] = value;
  }
  return values;
}

/** The settings with every secret replaced, safe to print. */
export function redactedSettings(settings: Settings): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...settings };
  for (const key of SECRET_KEYS) if (copy[key] !== undefined) copy[key] = '(set, hidden)';
  return copy;
}
