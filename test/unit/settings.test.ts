import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, redactedSettings, SettingsError } from '../../src/settings/load-settings.js';

const NO_ENV_FILE = path.join(os.tmpdir(), 'pcn-autoreply-no-such.env');
const complete = {
  IMAP_HOST: 'imap.example.test',
  IMAP_USER: 'inbox@example.test',
  IMAP_PASSWORD: 'secret-imap',
  SMTP_HOST: 'smtp.example.test',
  SMTP_USER: 'inbox@example.test',
  SMTP_PASSWORD: 'secret-smtp',
  MAIL_FROM: 'inbox@example.test',
};

function problemsOf(env: Record<string, string>, needs = { imap: true, smtp: true }): string[] {
  try {
    loadSettings(env, needs, NO_ENV_FILE);
    return [];
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
}

describe('settings', () => {
  it('applies the documented defaults', () => {
    const s = loadSettings(complete, { imap: true, smtp: true }, NO_ENV_FILE);
    expect(s).toMatchObject({ IMAP_PORT: 993, IMAP_SECURE: true, IMAP_MAILBOX: 'INBOX', IMAP_TLS_REJECT_UNAUTHORIZED: true, POLICY_FILE: 'config/policy.yaml', DATABASE_PATH: 'data/pcn-autoreply.sqlite', SCHEDULE: '*/5 * * * *' });
  });

  it.each([
    [{ IMAP_HOST: '' }, /IMAP_HOST is not set/],
    [{ IMAP_PORT: 'imap' }, /IMAP_PORT: must be a port number/],
    [{ IMAP_SECURE: 'maybe' }, /IMAP_SECURE: must be true or false/],
    [{ SCHEDULE: 'every five minutes' }, /SCHEDULE: is not a valid cron expression/],
    [{ IMAP_AUTH: 'kerberos' }, /IMAP_AUTH: must be password or oauth2/],
    [{ MAIL_FROM: '' }, /MAIL_FROM is not set/],
  ])('names the setting that is wrong: %j', (override, message) => {
    expect(problemsOf({ ...complete, ...override }).join('\n')).toMatch(message);
  });

  it.each(['notanaddress', 'PCN Alliance <inbox@example.test>', 'inbox@example', 'inbox @example.test'])('refuses MAIL_FROM %j: the worker needs the bare address', (mailFrom) => {
    expect(problemsOf({ ...complete, MAIL_FROM: mailFrom })).toEqual([
      'MAIL_FROM: must be the bare address replies come from, such as rivermarsh.pcnalliance@nhs.net (no name, no <>)',
    ]);
  });

  it('takes MAIL_FROM as a plain address, NHSmail\'s or a trust relay\'s', () => {
    for (const mailFrom of ['rivermarsh.pcnalliance@nhs.net', 'pcn-alliance+bot@mail.example-trust.nhs.uk']) {
      expect(loadSettings({ ...complete, MAIL_FROM: mailFrom }, { imap: true, smtp: true }, NO_ENV_FILE).MAIL_FROM).toBe(mailFrom);
    }
  });

  it('asks for the OAuth tenant and client when IMAP_AUTH is oauth2', () => {
    const problems = problemsOf({ ...complete, IMAP_AUTH: 'oauth2', IMAP_PASSWORD: '' }).join('\n');
    expect(problems).toMatch(/AZURE_TENANT_ID is not set/);
    expect(problems).toMatch(/AZURE_CLIENT_ID is not set/);
    expect(problems).not.toMatch(/IMAP_PASSWORD/);
  });

  it('reads a .env file, and the environment wins over it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-env-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, '# comment\nIMAP_HOST=from-file\nIMAP_MAILBOX="Shared Inbox"\nSCHEDULE=*/10 * * * *\n');
    const s = loadSettings({ ...complete, IMAP_HOST: 'from-env' }, { imap: true }, file);
    expect(s.IMAP_HOST).toBe('from-env');
    expect(s.IMAP_MAILBOX).toBe('Shared Inbox');
    expect(s.SCHEDULE).toBe('*/10 * * * *');
  });

  it('never shows a secret when settings are printed', () => {
    const printed = JSON.stringify(redactedSettings(loadSettings({ ...complete, AZURE_CLIENT_SECRET: 'secret-azure' }, {}, NO_ENV_FILE)));
    expect(printed).not.toMatch(/secret-imap|secret-smtp|secret-azure/);
  });
});
