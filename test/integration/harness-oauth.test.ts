/**
 * Proves the OAuth part of the harness: @azure/msal-node gets a token from the local Entra
 * stand-in, Dovecot accepts it over XOAUTH2/OAUTHBEARER by asking the introspection endpoint, the
 * SMTP sink accepts XOAUTH2, and revocation and refresh-token rotation behave like Entra's.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startTokenServer, type TokenServer } from '../support/oauth-endpoints.js';
import { startSmtpSink } from '../support/smtp-sink.js';

const OUTLOOK_SCOPE = 'https://outlook.office365.com/.default';

describe('OAuth harness', () => {
  let tokenServer: TokenServer;
  let dovecot: DovecotServer;

  beforeAll(async () => {
    tokenServer = await startTokenServer();
    dovecot = await startDovecot({ oauth: 'introspection', introspectionUrl: tokenServer.introspectionUrl });
  });
  afterAll(async () => {
    await dovecot?.stop();
    await tokenServer?.stop();
  });

  it('msal-node gets a client-credentials token and imapflow logs into Dovecot with it', async () => {
    const app = new ConfidentialClientApplication(tokenServer.msalConfig());
    const result = await app.acquireTokenByClientCredential({ scopes: [OUTLOOK_SCOPE] });
    expect(result?.accessToken).toMatch(/^at-/);
    expect(tokenServer.issued.clientCredentials).toBe(1);

    const client = new ImapFlow(dovecot.imapClientOptions({ accessToken: result!.accessToken }));
    await client.connect();
    expect(client.authenticated).toBeTruthy();
    await client.logout();
    expect(tokenServer.issued.introspectionsActive).toBeGreaterThanOrEqual(1);
  });

  it('refuses a revoked token and a token issued for another mailbox', async () => {
    const token = tokenServer.issueAccessToken(dovecot.user);
    tokenServer.revoke(token);
    await expect(new ImapFlow(dovecot.imapClientOptions({ accessToken: token })).connect()).rejects.toMatchObject({
      authenticationFailed: true,
    });
    const otherMailbox = tokenServer.issueAccessToken('hospital@example.test');
    await expect(new ImapFlow(dovecot.imapClientOptions({ accessToken: otherMailbox })).connect()).rejects.toMatchObject({
      authenticationFailed: true,
    });
  });

  it('refuses a wrong client secret with an AADSTS error', async () => {
    const config = tokenServer.msalConfig({ ...tokenServer.clients[0]!, clientSecret: 'not-the-secret' });
    const app = new ConfidentialClientApplication(config);
    await expect(app.acquireTokenByClientCredential({ scopes: [OUTLOOK_SCOPE] })).rejects.toThrow(/AADSTS7000215|invalid_client/);
  });

  it('rotates refresh tokens: the new one works, the used one is refused', async () => {
    const network = tokenServer.networkClient();
    const client = tokenServer.clients[0]!;
    const refresh = (refreshToken: string) =>
      network.sendPostRequestAsync<{ access_token?: string; refresh_token?: string; error?: string }>(tokenServer.tokenEndpoint, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: client.clientId, refresh_token: refreshToken, scope: OUTLOOK_SCOPE }).toString(),
      });
    const first = tokenServer.issueRefreshToken(dovecot.user);
    const rotated = await refresh(first);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toBeDefined();
    expect(rotated.body.refresh_token).not.toBe(first);
    expect((await refresh(first)).body.error).toBe('invalid_grant');
    expect((await refresh(rotated.body.refresh_token!)).status).toBe(200);

    const client2 = new ImapFlow(dovecot.imapClientOptions({ accessToken: rotated.body.access_token! }));
    await client2.connect();
    await client2.logout();
  });

  it('the SMTP sink accepts XOAUTH2 with a valid token and refuses a revoked one', async () => {
    const sink = await startSmtpSink({ auth: 'xoauth2', validateToken: (user, token) => tokenServer.isActive(token) && user === dovecot.user });
    try {
      const token = tokenServer.issueAccessToken(dovecot.user);
      const send = (accessToken: string) =>
        nodemailer
          .createTransport({ host: sink.host, port: sink.port, secure: false, ignoreTLS: true, auth: { type: 'OAuth2', user: dovecot.user, accessToken } })
          .sendMail({ from: dovecot.user, to: 'ward@nhs.net', subject: 'Re: test', text: 'ok' });
      await send(token);
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0]!.authUser).toBe(dovecot.user);
      tokenServer.revoke(token);
      await expect(send(token)).rejects.toMatchObject({ code: 'EAUTH' });
      // nodemailer may try the refused token more than once; none of those tries may pass.
      const [firstAttempt, ...laterAttempts] = sink.authAttempts.map((attempt) => attempt.accepted);
      expect(firstAttempt).toBe(true);
      expect(laterAttempts.length).toBeGreaterThan(0);
      expect(laterAttempts.every((accepted) => !accepted)).toBe(true);
    } finally {
      await sink.stop();
    }
  });
});

describe('OAuth with the tokens-file trick', () => {
  it('accepts the token set for the user and refuses it once replaced', async () => {
    const dovecot = await startDovecot({ oauth: 'tokens-file' });
    try {
      await dovecot.setToken(dovecot.user, 'first-token');
      const client = new ImapFlow(dovecot.imapClientOptions({ accessToken: 'first-token' }));
      await client.connect();
      await client.logout();
      await dovecot.setToken(dovecot.user, 'second-token');
      await expect(new ImapFlow(dovecot.imapClientOptions({ accessToken: 'first-token' })).connect()).rejects.toMatchObject({
        authenticationFailed: true,
      });
      // The password is no token.
      await expect(new ImapFlow(dovecot.imapClientOptions({ accessToken: dovecot.password })).connect()).rejects.toMatchObject({
        authenticationFailed: true,
      });
    } finally {
      await dovecot.stop();
    }
  });
});
