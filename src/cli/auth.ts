import type { Command } from 'commander';
import { deviceCodeLogin } from '../auth/device-code-flow.js';
import { readTokenFile } from '../auth/token-file.js';
import { loadSettings, SettingsError } from '../settings/load-settings.js';
import { UserError } from './user-error.js';

export function register(program: Command): void {
  const auth = program.command('auth').description('Delegated NHSmail sign-in, for tenants that will not grant app-only access.');
  auth
    .command('login')
    .description('Sign in once with a device code; the renewable sign-in is kept in OAUTH_TOKEN_FILE (readable by its owner only).')
    .action(async () => {
      const settings = settingsFor();
      const { username } = await deviceCodeLogin(settings, (message) => process.stdout.write(`${message}\n`));
      process.stdout.write(
        `Signed in as ${username}. The sign-in is saved in ${settings.OAUTH_TOKEN_FILE} (only this user can read it).\n` +
          'Set IMAP_AUTH=oauth2 and SMTP_AUTH=oauth2 (and AZURE_AUTH_FLOW=device), then run: pcn-autoreply doctor\n',
      );
    });
  auth
    .command('show')
    .description('Who is signed in and when the sign-in was last renewed (no token is shown).')
    .action(() => {
      const settings = settingsFor();
      const saved = readTokenFile(settings.OAUTH_TOKEN_FILE);
      if (!saved) throw new UserError(`no sign-in saved in ${settings.OAUTH_TOKEN_FILE}: run \`pcn-autoreply auth login\``, 1);
      process.stdout.write(`Signed in as ${saved.username} on ${saved.signedInAt}; last renewed ${saved.refreshedAt}.\n`);
    });
}

function settingsFor() {
  try {
    const settings = loadSettings();
    if (!settings.AZURE_TENANT_ID || !settings.AZURE_CLIENT_ID) {
      throw new UserError('AZURE_TENANT_ID and AZURE_CLIENT_ID must be set in .env before signing in (your NHSmail Local Administrator has both)');
    }
    return settings;
  } catch (error) {
    if (error instanceof SettingsError) throw new UserError(`${error.message}\n(see .env.example for every setting)`);
    throw error;
  }
}
