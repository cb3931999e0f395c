import { readFileSync } from 'node:fs';
import type { Configuration, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { Settings } from '../settings/load-settings.js';
import { UserError } from '../cli/user-error.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/** App-only (client-credentials) access to Exchange Online IMAP and SMTP. */
export const APP_SCOPES = ['https://outlook.office365.com/.default'];
/** Delegated (device-code) access: a named person signs in once for the shared mailbox. */
export const DELEGATED_SCOPES = ['https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send', 'offline_access'];

type AuthSettings = Pick<Settings, 'AZURE_TENANT_ID' | 'AZURE_CLIENT_ID' | 'AZURE_AUTHORITY_HOST'> & Partial<Pick<Settings, 'IMAP_TIMEOUT_MS'>>;

/** How long one request to the sign-in service may take when no IMAP_TIMEOUT_MS is given (its default). */
export const SIGN_IN_TIMEOUT_MS = 60_000;

/**
 * The msal configuration shared by both flows. For a non-Microsoft AZURE_AUTHORITY_HOST (a
 * sovereign cloud, or the loopback endpoint the tests use) the authority's metadata is supplied
 * here, so msal makes no discovery calls to Microsoft. A plain-http host is accepted only on
 * loopback (msal itself insists on https URLs, so requests are rewritten back to http).
 */
export function msalConfiguration(settings: AuthSettings, credentials: Configuration['auth'] extends infer A ? Partial<A> : never, network = signInNetwork(settings)): Configuration {
  const tenant = required(settings.AZURE_TENANT_ID, 'AZURE_TENANT_ID', 'the NHSmail tenant id given by your NHSmail Local Administrator');
  const clientId = required(settings.AZURE_CLIENT_ID, 'AZURE_CLIENT_ID', 'the application (client) id of the app registration');
  const host = parseAuthorityHost(settings.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST);
  const authority = `https://${host.url.host}/${tenant}`;
  const custom = host.url.origin !== DEFAULT_AUTHORITY_HOST;
  const base = `${host.url.protocol}//${host.url.host}/${tenant}`;
  return {
    auth: {
      ...credentials,
      clientId,
      authority,
      ...(custom
        ? {
            knownAuthorities: [host.url.host],
            authorityMetadata: JSON.stringify({
              token_endpoint: `${authority}/oauth2/v2.0/token`,
              device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
              authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
              end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
              issuer: `${base}/v2.0`,
              jwks_uri: `${authority}/discovery/v2.0/keys`,
            }),
            cloudDiscoveryMetadata: JSON.stringify({
              tenant_discovery_endpoint: `${authority}/v2.0/.well-known/openid-configuration`,
              'api-version': '1.1',
              metadata: [{ preferred_network: host.url.host, preferred_cache: host.url.host, aliases: [host.url.host] }],
            }),
          }
        : {}),
    },
    system: {
      networkClient: network,
      // msal's own logging is off: its messages can carry request details.
      loggerOptions: { piiLoggingEnabled: false, loggerCallback: () => undefined },
    },
  };
}

function parseAuthorityHost(value: string): { url: URL; insecureLoopback: boolean } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`AZURE_AUTHORITY_HOST must be a URL such as ${DEFAULT_AUTHORITY_HOST}, not "${value}"`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol === 'http:' && loopback) return { url, insecureLoopback: true };
  if (url.protocol !== 'https:') throw new UserError(`AZURE_AUTHORITY_HOST must start with https:// (it is ${url.protocol}//...)`);
  return { url, insecureLoopback: false };
}

function required(value: string | undefined, key: string, what: string): string {
  if (!value) throw new UserError(`${key} is not set: ${what}`);
  return value;
}

/** The network client for msal of these settings (see SignInNetwork). */
export function signInNetwork(settings: AuthSettings): SignInNetwork {
  const host = parseAuthorityHost(settings.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST);
  return new SignInNetwork(settings.IMAP_TIMEOUT_MS ?? SIGN_IN_TIMEOUT_MS, host.insecureLoopback ? host.url.host : undefined);
}

/**
 * msal's requests, each given up after `timeoutMs`. msal's own client sets no limit on a POST, which
 * is every token request: a sign-in service (or a proxy) that took the connection and never answered
 * held a pass, and with it every later tick of `run`, for ever. A failure keeps its code (ETIMEDOUT,
 * ECONNREFUSED, ENOTFOUND...), which explainAuthFailure turns into advice; msal reports every one as a
 * bare network_error, so the last is kept here for reasonFor(). With `plainHttpHost`, msal's
 * https://<loopback> requests go over plain http (a test endpoint on this machine).
 */
export class SignInNetwork implements INetworkModule {
  lastFailure: Error | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly plainHttpHost?: string,
  ) {}

  /** msal gives a timeout of its own to a few lookups (none that this configuration makes): the shorter wins. */
  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>(url, 'GET', options, timeout ? Math.min(timeout, this.timeoutMs) : this.timeoutMs);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>(url, 'POST', options, this.timeoutMs);
  }

  /** What to explain for an error of msal: the network's own reason when msal only says network_error. */
  reasonFor(error: unknown): unknown {
    return (error as { errorCode?: string })?.errorCode === 'network_error' && this.lastFailure ? this.lastFailure : error;
  }

  private async send<T>(url: string, method: 'GET' | 'POST', options: NetworkRequestOptions | undefined, timeoutMs: number): Promise<NetworkResponse<T>> {
    try {
      return await this.request<T>(url, method, options, timeoutMs);
    } catch (error) {
      this.lastFailure = error as Error;
      throw error;
    }
  }

  private async request<T>(url: string, method: 'GET' | 'POST', options: NetworkRequestOptions | undefined, timeoutMs: number): Promise<NetworkResponse<T>> {
    const host = this.plainHttpHost;
    const target = host ? url.replace(`https://${host}/`, `http://${host}/`) : url;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(target, { method, headers: options?.headers, signal, ...(method === 'POST' ? { body: options?.body ?? '' } : {}) });
    } catch (error) {
      throw networkFailure(error, signal, url, timeoutMs);
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    let body: T;
    try {
      body = (await response.json()) as T;
    } catch (error) {
      if (signal.aborted) throw networkFailure(error, signal, url, timeoutMs);
      throw Object.assign(new Error(`the sign-in service answered HTTP ${response.status} with something that is not a token answer`), { code: 'ENOTJSON' });
    }
    return { headers, body, status: response.status };
  }
}

function networkFailure(error: unknown, signal: AbortSignal, url: string, timeoutMs: number): Error {
  const host = new URL(url).host;
  if (signal.aborted) return Object.assign(new Error(`the sign-in service at ${host} did not answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' });
  // fetch fails with "fetch failed"; the system's reason is its cause.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return Object.assign(new Error(`the sign-in service at ${host} could not be reached: ${cause?.message ?? (error as Error).message}`), { code: cause?.code ?? 'ENETWORK' });
}

/** The private key of AZURE_CLIENT_CERT_PATH (a PEM file holding the key, and usually the certificate). */
export function readCertificate(path: string, thumbprint: string | undefined): { thumbprintSha256?: string; thumbprint?: string; privateKey: string } {
  if (!thumbprint) throw new UserError('AZURE_CLIENT_CERT_THUMBPRINT is not set: the thumbprint shown beside the certificate in the app registration');
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`AZURE_CLIENT_CERT_PATH ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): check the path and that this user may read it`);
  }
  const key = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(pem)?.[0];
  if (!key) throw new UserError(`AZURE_CLIENT_CERT_PATH ${path} holds no private key: it must be a PEM file with the certificate's private key`);
  const clean = thumbprint.replace(/[^0-9a-fA-F]/g, '');
  // The portal shows a SHA-1 thumbprint (40 hex digits); newer tooling a SHA-256 one (64).
  return clean.length === 64 ? { thumbprintSha256: clean, privateKey: key } : { thumbprint: clean, privateKey: key };
}
