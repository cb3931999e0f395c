/**
 * A local stand-in for Microsoft Entra ID (login.microsoftonline.com) plus an RFC 7662 token
 * introspection endpoint for Dovecot, so OAuth tests never leave the machine.
 *
 * One request handler is served twice: over HTTPS for @azure/msal-node (msal refuses authorities
 * that are not https) with a self-signed certificate, and over plain HTTP for Dovecot's oauth2
 * passdb (which would otherwise need the CA too). Tokens are opaque random strings; the server
 * remembers what it issued, to whom, until when, and whether it was revoked.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Configuration, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { writeSelfSignedCertificate } from './certificate.js';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** The mailbox an app-only (client credentials) token for this client may open. */
  username: string;
}

export interface TokenServerOptions {
  tenant?: string;
  clients?: OAuthClient[];
  /** Lifetime of access tokens in seconds (msal renews tokens within 5 minutes of expiry). */
  accessTokenSeconds?: number;
  refreshTokenSeconds?: number;
}

export interface IssuedCounts {
  clientCredentials: number;
  refreshToken: number;
  deviceCode: number;
  introspections: number;
  introspectionsActive: number;
  rejectedTokenRequests: number;
}

interface TokenRecord {
  kind: 'access' | 'refresh';
  username: string;
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

export interface TokenServer {
  tenant: string;
  /** https://127.0.0.1:PORT/TENANT, for msal's `authority`. */
  authority: string;
  /** 127.0.0.1:PORT, for msal's `knownAuthorities`. */
  authorityHost: string;
  httpsPort: number;
  httpPort: number;
  /** Plain-HTTP introspection URL for Dovecot's oauth2 passdb. */
  introspectionUrl: string;
  tokenEndpoint: string;
  caPem: string;
  /** Give this to child processes as NODE_EXTRA_CA_CERTS so their default HTTPS trusts the server. */
  caPath: string;
  clients: OAuthClient[];
  issued: IssuedCounts;
  setAccessTokenSeconds(seconds: number): void;
  /** Mints an access token directly (no client round trip), e.g. for IMAP login tests. */
  issueAccessToken(username: string, seconds?: number): string;
  /** Mints a refresh token, as if the user had completed a device-code sign-in. */
  issueRefreshToken(username: string, clientId?: string): string;
  revoke(token: string): void;
  revokeAll(username?: string): void;
  isActive(token: string): boolean;
  /** An msal network client that trusts this server's certificate. */
  networkClient(): INetworkModule;
  /** A ready ConfidentialClientApplication configuration for one of `clients`. */
  msalConfig(client?: OAuthClient): Configuration;
  stop(): Promise<void>;
}

const DEFAULT_CLIENT: OAuthClient = {
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'test-client-secret',
  username: 'inbox@example.test',
};

function base64Url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** An unsigned JWT: msal reads id_token claims but does not check signatures of a token it just fetched. */
function unsignedJwt(claims: Record<string, unknown>): string {
  return `${base64Url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64Url(JSON.stringify(claims))}.`;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const tenant = options.tenant ?? 'test-tenant';
  const clients = options.clients?.length ? options.clients : [DEFAULT_CLIENT];
  let accessTokenSeconds = options.accessTokenSeconds ?? 3600;
  const refreshTokenSeconds = options.refreshTokenSeconds ?? 90 * 24 * 3600;
  const tokens = new Map<string, TokenRecord>();
  const pendingDeviceCodes = new Map<string, { clientId: string; username: string }>();
  const issued: IssuedCounts = {
    clientCredentials: 0,
    refreshToken: 0,
    deviceCode: 0,
    introspections: 0,
    introspectionsActive: 0,
    rejectedTokenRequests: 0,
  };

  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-oauth-'));
  const certificate = writeSelfSignedCertificate(certDir);

  const mint = (kind: TokenRecord['kind'], username: string, clientId: string, seconds: number): string => {
    const token = `${kind === 'access' ? 'at' : 'rt'}-${randomBytes(24).toString('base64url')}`;
    tokens.set(token, { kind, username, clientId, expiresAt: Date.now() + seconds * 1000, revoked: false });
    return token;
  };
  const isActive = (token: string, kind: TokenRecord['kind'] = 'access'): boolean => {
    const record = tokens.get(token);
    return !!record && record.kind === kind && !record.revoked && record.expiresAt > Date.now();
  };

  let httpsPort = 0;
  const origin = () => `https://127.0.0.1:${httpsPort}`;
  const tenantBase = (tenantName: string) => `${origin()}/${tenantName}`;

  const openIdConfiguration = (tenantName: string) => ({
    issuer: `${tenantBase(tenantName)}/v2.0`,
    authorization_endpoint: `${tenantBase(tenantName)}/oauth2/v2.0/authorize`,
    token_endpoint: `${tenantBase(tenantName)}/oauth2/v2.0/token`,
    device_authorization_endpoint: `${tenantBase(tenantName)}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${tenantBase(tenantName)}/oauth2/v2.0/logout`,
    jwks_uri: `${tenantBase(tenantName)}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'token'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
  });

  const tokenError = (response: http.ServerResponse, status: number, error: string, description: string) => {
    issued.rejectedTokenRequests++;
    // Entra answers with an AADSTS code at the start of the description; msal surfaces both.
    sendJson(response, status, { error, error_description: description, error_codes: [Number(description.slice(6, 13)) || 0] });
  };

  const delegatedTokenResponse = (clientId: string, username: string) => {
    const refreshToken = mint('refresh', username, clientId, refreshTokenSeconds);
    const now = Math.floor(Date.now() / 1000);
    return {
      token_type: 'Bearer',
      scope: 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access',
      expires_in: accessTokenSeconds,
      ext_expires_in: accessTokenSeconds,
      access_token: mint('access', username, clientId, accessTokenSeconds),
      refresh_token: refreshToken,
      refresh_token_expires_in: refreshTokenSeconds,
      id_token: unsignedJwt({
        aud: clientId, iss: `${tenantBase(tenant)}/v2.0`, iat: now, nbf: now, exp: now + accessTokenSeconds,
        oid: `oid-${username}`, sub: `sub-${username}`, tid: tenant, preferred_username: username, name: username,
        ver: '2.0',
      }),
      client_info: base64Url(JSON.stringify({ uid: `oid-${username}`, utid: tenant })),
    };
  };

  const handleToken = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const form = new URLSearchParams(await readBody(request));
    const grantType = form.get('grant_type');
    const clientId = form.get('client_id') ?? '';
    const client = clients.find((candidate) => candidate.clientId === clientId);
    if (!client) return tokenError(response, 400, 'unauthorized_client', `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`);
    if (grantType === 'client_credentials') {
      if (form.get('client_secret') !== client.clientSecret) {
        return tokenError(response, 401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
      }
      issued.clientCredentials++;
      return sendJson(response, 200, {
        token_type: 'Bearer',
        expires_in: accessTokenSeconds,
        ext_expires_in: accessTokenSeconds,
        access_token: mint('access', client.username, client.clientId, accessTokenSeconds),
      });
    }
    if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      const record = tokens.get(presented);
      if (!record || !isActive(presented, 'refresh') || record.clientId !== clientId) {
        return tokenError(response, 400, 'invalid_grant', 'AADSTS70008: The provided authorization code or refresh token has expired or been revoked.');
      }
      // Microsoft rotates refresh tokens; the old one is kept valid here only as long as Entra
      // does for a short overlap, which tests do not need: it is revoked at once.
      record.revoked = true;
      issued.refreshToken++;
      return sendJson(response, 200, delegatedTokenResponse(clientId, record.username));
    }
    if (grantType === 'urn:ietf:params:oauth:grant-type:device_code' || grantType === 'device_code') {
      const pending = pendingDeviceCodes.get(form.get('device_code') ?? '');
      if (!pending) return tokenError(response, 400, 'expired_token', 'AADSTS70020: The provided value for the input parameter device_code is not valid.');
      pendingDeviceCodes.delete(form.get('device_code') ?? '');
      issued.deviceCode++;
      return sendJson(response, 200, delegatedTokenResponse(clientId, pending.username));
    }
    return tokenError(response, 400, 'unsupported_grant_type', `AADSTS70003: The app requested an unsupported grant type '${grantType}'.`);
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const parts = url.pathname.split('/').filter(Boolean);
    if (request.method === 'POST' && url.pathname === '/introspect') {
      const form = new URLSearchParams(await readBody(request));
      const token = form.get('token') ?? '';
      issued.introspections++;
      if (!isActive(token)) return sendJson(response, 200, { active: false });
      issued.introspectionsActive++;
      const record = tokens.get(token)!;
      return sendJson(response, 200, {
        active: true,
        username: record.username,
        client_id: record.clientId,
        exp: Math.floor(record.expiresAt / 1000),
        token_type: 'Bearer',
      });
    }
    if (request.method === 'GET' && url.pathname === '/common/discovery/instance') {
      const authorizeUrl = url.searchParams.get('authorization_endpoint') ?? '';
      const tenantName = authorizeUrl.split('/')[3] || tenant;
      return sendJson(response, 200, {
        tenant_discovery_endpoint: `${tenantBase(tenantName)}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: `127.0.0.1:${httpsPort}`, preferred_cache: `127.0.0.1:${httpsPort}`, aliases: [`127.0.0.1:${httpsPort}`] }],
      });
    }
    if (request.method === 'GET' && url.pathname.endsWith('/.well-known/openid-configuration') && parts[0]) {
      return sendJson(response, 200, openIdConfiguration(parts[0]));
    }
    if (request.method === 'GET' && url.pathname.endsWith('/discovery/v2.0/keys')) {
      return sendJson(response, 200, { keys: [] });
    }
    if (request.method === 'POST' && parts[1] === 'oauth2' && parts[3] === 'token') {
      return handleToken(request, response);
    }
    if (request.method === 'POST' && parts[1] === 'oauth2' && parts[3] === 'devicecode') {
      const form = new URLSearchParams(await readBody(request));
      const clientId = form.get('client_id') ?? '';
      const client = clients.find((candidate) => candidate.clientId === clientId);
      if (!client) return tokenError(response, 400, 'unauthorized_client', `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`);
      const deviceCode = randomBytes(16).toString('hex');
      const userCode = randomBytes(4).toString('hex').toUpperCase();
      // Approved at once, as if the person had signed in immediately: the first poll succeeds.
      pendingDeviceCodes.set(deviceCode, { clientId, username: client.username });
      return sendJson(response, 200, {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: `${origin()}/devicelogin`,
        expires_in: 900,
        interval: 1,
        message: `To sign in, use a web browser to open the page ${origin()}/devicelogin and enter the code ${userCode} to authenticate.`,
      });
    }
    sendJson(response, 404, { error: 'not_found', error_description: `${request.method} ${url.pathname}` });
  };

  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
    handle(request, response).catch((error: unknown) => sendJson(response, 500, { error: 'server_error', error_description: String(error) }));
  };
  const httpsServer = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, onRequest);
  const httpServer = http.createServer(onRequest);
  httpsPort = await listen(httpsServer);
  const httpPort = await listen(httpServer);

  const networkClient = (): INetworkModule => {
    const send = <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
      new Promise((resolve, reject) => {
        const request = https.request(url, { method, headers: options?.headers, ca: certificate.certPem }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
            }
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON: leave the text
            }
            resolve({ headers, body: body as T, status: response.statusCode ?? 0 });
          });
        });
        request.on('error', reject);
        if (method === 'POST' && options?.body) request.write(options.body);
        request.end();
      });
    return {
      sendGetRequestAsync: (url, options) => send('GET', url, options),
      sendPostRequestAsync: (url, options) => send('POST', url, options),
    };
  };

  const authorityHost = `127.0.0.1:${httpsPort}`;
  return {
    tenant,
    authority: `${origin()}/${tenant}`,
    authorityHost,
    httpsPort,
    httpPort,
    introspectionUrl: `http://127.0.0.1:${httpPort}/introspect`,
    tokenEndpoint: `${origin()}/${tenant}/oauth2/v2.0/token`,
    caPem: certificate.certPem,
    caPath: certificate.certPath,
    clients,
    issued,
    setAccessTokenSeconds(seconds) {
      accessTokenSeconds = seconds;
    },
    issueAccessToken: (username, seconds = accessTokenSeconds) => mint('access', username, DEFAULT_CLIENT.clientId, seconds),
    issueRefreshToken: (username, clientId = clients[0]!.clientId) => mint('refresh', username, clientId, refreshTokenSeconds),
    revoke(token) {
      const record = tokens.get(token);
      if (record) record.revoked = true;
    },
    revokeAll(username) {
      for (const record of tokens.values()) if (!username || record.username === username) record.revoked = true;
    },
    isActive: (token) => isActive(token),
    networkClient,
    msalConfig: (client = clients[0]!) => ({
      auth: {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        authority: `${origin()}/${tenant}`,
        knownAuthorities: [authorityHost],
      },
      system: { networkClient: networkClient() },
    }),
    stop: async () => {
      httpsServer.closeAllConnections();
      httpServer.closeAllConnections();
      await Promise.all([
        new Promise((resolve) => httpsServer.close(resolve)),
        new Promise((resolve) => httpServer.close(resolve)),
      ]);
      fs.rmSync(certDir, { recursive: true, force: true });
    },
  };
}
