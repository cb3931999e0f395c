import { existsSync } from 'node:fs';
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { Settings } from '../settings/load-settings.js';
import { UserError } from '../cli/user-error.js';
import { cachedTokenGetter, type AccessTokenGetter, type IssuedToken } from './cached-token.js';
import { deviceCodeTokenSource } from './device-code-flow.js';
import { explainAuthFailure } from './explain-auth-failure.js';
import { credentialWarnings } from './expiry-warnings.js';
import { APP_SCOPES, msalConfiguration, readCertificate, signInNetwork } from './msal-config.js';
import { readTokenFile } from './token-file.js';

/** Raised when no token can be had: one sentence naming the setting to check, never a secret. */
export class TokenError extends UserError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'TokenError';
  }
}

export type AuthFlow = 'client-credentials' | 'device';

/**
 * AZURE_AUTH_FLOW decides; left out, a client secret or certificate means app-only access, and
 * an existing OAUTH_TOKEN_FILE (from `auth login`) means delegated access.
 */
export function chooseAuthFlow(settings: Settings): AuthFlow {
  if (settings.AZURE_AUTH_FLOW) return settings.AZURE_AUTH_FLOW;
  if (settings.AZURE_CLIENT_SECRET || settings.AZURE_CLIENT_CERT_PATH) return 'client-credentials';
  if (existsSync(settings.OAUTH_TOKEN_FILE)) return 'device';
  throw new TokenError(
    'OAuth is on (IMAP_AUTH or SMTP_AUTH is oauth2) but no credential is set: set AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERT_PATH and AZURE_CLIENT_CERT_THUMBPRINT), or run `pcn-autoreply auth login` for a delegated sign-in',
  );
}

/** OAuth 2.0 access tokens for IMAP and SMTP (XOAUTH2), cached and renewed before they expire. */
export async function createTokenGetter(settings: Settings, logger: Logger): Promise<AccessTokenGetter> {
  const flow = chooseAuthFlow(settings);
  warnAboutExpiry(settings, logger);
  const issue = flow === 'device' ? deviceCodeTokenSource(settings) : clientCredentialsSource(settings);
  return cachedTokenGetter(async (forceRefresh) => {
    try {
      const token = await issue(forceRefresh);
      // The expiry only: the token itself is never logged.
      logger.debug({ flow, expiresOn: token.expiresOn.toISOString(), forced: forceRefresh }, 'OAuth access token obtained');
      return token;
    } catch (error) {
      if (error instanceof UserError) throw error;
      // Not logged here: the failed pass logs this message once, and the CLI prints it.
      throw new TokenError(`no OAuth access token: ${explainAuthFailure(error)}`);
    }
  });
}

function clientCredentialsSource(settings: Settings): (forceRefresh: boolean) => Promise<IssuedToken> {
  const credentials = settings.AZURE_CLIENT_SECRET
    ? { clientSecret: settings.AZURE_CLIENT_SECRET }
    : settings.AZURE_CLIENT_CERT_PATH
      ? { clientCertificate: readCertificate(settings.AZURE_CLIENT_CERT_PATH, settings.AZURE_CLIENT_CERT_THUMBPRINT) }
      : null;
  if (!credentials) throw new TokenError('AZURE_AUTH_FLOW is client-credentials but neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERT_PATH is set');
  const network = signInNetwork(settings);
  const app = new ConfidentialClientApplication(msalConfiguration(settings, credentials, network));
  return async () => {
    let result;
    try {
      // Our own cache decides when to renew, so msal is always asked for a fresh token.
      result = await app.acquireTokenByClientCredential({ scopes: APP_SCOPES, skipCache: true });
    } catch (error) {
      throw network.reasonFor(error);
    }
    if (!result?.accessToken || !result.expiresOn) throw new Error('the token endpoint answered without an access token');
    return { accessToken: result.accessToken, expiresOn: result.expiresOn };
  };
}

/** Credential expiry warnings for the flow in use, for the logs at start-up and for `status` / `doctor`. */
export function credentialWarningsFor(settings: Settings, now: Date) {
  const usesSecret = Boolean(settings.AZURE_CLIENT_SECRET) && settings.AZURE_AUTH_FLOW !== 'device';
  const usesTokenFile = settings.AZURE_AUTH_FLOW === 'device' || (!settings.AZURE_AUTH_FLOW && !settings.AZURE_CLIENT_SECRET && !settings.AZURE_CLIENT_CERT_PATH);
  let refreshTokenReceivedAt: string | undefined;
  if (usesTokenFile) {
    try {
      refreshTokenReceivedAt = readTokenFile(settings.OAUTH_TOKEN_FILE)?.refreshedAt;
    } catch {
      // A damaged file is reported when a token is asked for, with what to do.
    }
  }
  return credentialWarnings({ clientSecretExpires: usesSecret ? settings.AZURE_CLIENT_SECRET_EXPIRES : undefined, refreshTokenReceivedAt }, now);
}

function warnAboutExpiry(settings: Settings, logger: Logger): void {
  for (const warning of credentialWarningsFor(settings, new Date())) logger.warn({ daysLeft: warning.daysLeft }, warning.message);
}
