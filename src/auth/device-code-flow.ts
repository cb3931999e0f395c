import { PublicClientApplication, type ICachePlugin, type TokenCacheContext } from '@azure/msal-node';
import type { Settings } from '../settings/load-settings.js';
import { UserError } from '../cli/user-error.js';
import type { IssuedToken } from './cached-token.js';
import { explainAuthFailure } from './explain-auth-failure.js';
import { DELEGATED_SCOPES, msalConfiguration, signInNetwork, type SignInNetwork } from './msal-config.js';
import { readTokenFile, writeTokenFile, type TokenFileContent } from './token-file.js';

type DeviceSettings = Pick<Settings, 'AZURE_TENANT_ID' | 'AZURE_CLIENT_ID' | 'AZURE_AUTHORITY_HOST' | 'OAUTH_TOKEN_FILE'> & Partial<Pick<Settings, 'IMAP_TIMEOUT_MS'>>;

/** msal's cache lives inside OAUTH_TOKEN_FILE; every change (a rotated refresh token) is written back at once. */
function fileCachePlugin(path: string, account: () => { username: string; homeAccountId: string; signedInAt: string } | null): ICachePlugin {
  return {
    async beforeCacheAccess(context: TokenCacheContext) {
      const saved = readTokenFile(path);
      if (saved) context.tokenCache.deserialize(saved.msalCache);
    },
    async afterCacheAccess(context: TokenCacheContext) {
      if (!context.cacheHasChanged) return;
      const who = account() ?? readTokenFile(path);
      if (!who) return;
      const content: TokenFileContent = {
        version: 1,
        username: who.username,
        homeAccountId: who.homeAccountId,
        signedInAt: who.signedInAt,
        refreshedAt: new Date().toISOString(),
        msalCache: context.tokenCache.serialize(),
      };
      writeTokenFile(path, content);
    },
  };
}

function application(settings: DeviceSettings, account: () => { username: string; homeAccountId: string; signedInAt: string } | null): { app: PublicClientApplication; network: SignInNetwork } {
  const network = signInNetwork(settings);
  const config = msalConfiguration(settings, {}, network);
  return { app: new PublicClientApplication({ ...config, cache: { cachePlugin: fileCachePlugin(settings.OAUTH_TOKEN_FILE, account) } }), network };
}

/** `auth login`: shows the code to type at the verification page, waits, and saves the sign-in. */
export async function deviceCodeLogin(settings: DeviceSettings, show: (message: string) => void): Promise<{ username: string }> {
  let who: { username: string; homeAccountId: string; signedInAt: string } | null = null;
  const { app, network } = application(settings, () => who);
  try {
    const result = await app.acquireTokenByDeviceCode({
      scopes: DELEGATED_SCOPES,
      deviceCodeCallback: (response) => show(response.message),
    });
    if (!result?.account) throw new UserError('the sign-in finished without an account: try `pcn-autoreply auth login` again');
    who = { username: result.account.username, homeAccountId: result.account.homeAccountId, signedInAt: new Date().toISOString() };
    // Write the file now that the account is known (the cache write during sign-in had no account yet).
    const cache = app.getTokenCache().serialize();
    writeTokenFile(settings.OAUTH_TOKEN_FILE, { version: 1, ...who, refreshedAt: who.signedInAt, msalCache: cache });
    return { username: who.username };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`the sign-in failed: ${explainAuthFailure(network.reasonFor(error))}`, 1);
  }
}

/** Access tokens for the signed-in account, renewed with the saved (and rotated) refresh token. */
export function deviceCodeTokenSource(settings: DeviceSettings): (forceRefresh: boolean) => Promise<IssuedToken> {
  const { app, network } = application(settings, () => null);
  return async (forceRefresh) => {
    const saved = readTokenFile(settings.OAUTH_TOKEN_FILE);
    if (!saved) throw new UserError(`OAUTH_TOKEN_FILE ${settings.OAUTH_TOKEN_FILE} does not exist: run \`pcn-autoreply auth login\` first`, 1);
    const account = await app.getTokenCache().getAccountByHomeId(saved.homeAccountId);
    if (!account) throw new UserError(`OAUTH_TOKEN_FILE ${settings.OAUTH_TOKEN_FILE} holds no sign-in: run \`pcn-autoreply auth login\` again`, 1);
    const scopes = DELEGATED_SCOPES.filter((scope) => scope !== 'offline_access');
    const result = await app.acquireTokenSilent({ account, scopes, forceRefresh }).catch((error: unknown) => {
      throw network.reasonFor(error);
    });
    if (!result?.accessToken || !result.expiresOn) throw new Error('no access token in the answer');
    return { accessToken: result.accessToken, expiresOn: result.expiresOn };
  };
}
