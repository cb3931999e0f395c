import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenGetter } from '../../src/auth/token-getter.js';
import { ImapSource } from '../../src/mail/imap-source.js';
import { SmtpSender } from '../../src/mail/reply-sender.js';
import { loadSettings } from '../../src/settings/load-settings.js';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startTokenServer, type TokenServer } from '../support/oauth-endpoints.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

// Token renewal inside one long-running process (the `run` worker): a token about to expire is
// replaced before use, and a token the server refuses is replaced once and the login retried.
// In-process, msal reaches the stand-in over its plain-HTTP loopback port (accepted for loopback only).
let tokens: TokenServer;
let dovecot: DovecotServer;
let sink: SmtpSink;
const silent = pino({ level: 'silent' });

function settings() {
  const client = tokens.clients[0]!;
  return loadSettings(
    {
      IMAP_AUTH: 'oauth2',
      SMTP_AUTH: 'oauth2',
      AZURE_TENANT_ID: tokens.tenant,
      AZURE_CLIENT_ID: client.clientId,
      AZURE_CLIENT_SECRET: client.clientSecret,
      AZURE_AUTHORITY_HOST: `http://127.0.0.1:${tokens.httpPort}`,
    },
    {},
    '/nonexistent/.env',
  );
}

function imapSource(accessToken: (options?: { forceRefresh?: boolean }) => Promise<string>): ImapSource {
  return new ImapSource({
    host: '127.0.0.1',
    port: dovecot.tlsPort,
    secure: true,
    user: dovecot.user,
    accessToken,
    mailbox: 'INBOX',
    tlsRejectUnauthorized: true,
    tlsCaFile: dovecot.caPath,
    timeoutMs: 10_000,
  });
}

beforeAll(async () => {
  tokens = await startTokenServer();
  [dovecot, sink] = await Promise.all([
    startDovecot({ oauth: 'introspection', introspectionUrl: tokens.introspectionUrl }),
    startSmtpSink({ auth: 'xoauth2', validateToken: (_user, token) => tokens.isActive(token) }),
  ]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop(), tokens?.stop()]);
});

describe('OAuth token renewal', () => {
  it('reuses a token while it is fresh and renews it before it expires mid-run', async () => {
    tokens.setAccessTokenSeconds(4);
    try {
      const getToken = await createTokenGetter(settings(), silent);
      const first = await getToken();
      expect(await getToken()).toBe(first);
      const source = imapSource(getToken);
      await source.open();
      await source.close();
      // Past half its lifetime the token is renewed before use; after expiry the old one is refused.
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      expect(tokens.isActive(first)).toBe(false);
      const second = await getToken();
      expect(second).not.toBe(first);
      const again = imapSource(getToken);
      await again.open();
      await again.close();
    } finally {
      tokens.setAccessTokenSeconds(3600);
    }
  });

  it('renews a token the IMAP server refuses (revoked early) and logs in on the second try', async () => {
    const getToken = await createTokenGetter(settings(), silent);
    const revoked = await getToken();
    tokens.revoke(revoked);
    const issuedBefore = tokens.issued.clientCredentials;
    const source = imapSource(getToken);
    const state = await source.open();
    expect(state.uidValidity).toBeTruthy();
    await source.close();
    expect(tokens.issued.clientCredentials).toBe(issuedBefore + 1);
  });

  it('renews a token the SMTP server refuses and logs in on the second try, without sending anything twice', async () => {
    const getToken = await createTokenGetter(settings(), silent);
    tokens.revoke(await getToken());
    const issuedBefore = tokens.issued.clientCredentials;
    const sender = new SmtpSender({
      host: '127.0.0.1',
      port: sink.port,
      secure: false,
      auth: { type: 'oauth2', user: dovecot.user, accessToken: getToken },
      tlsRejectUnauthorized: true,
      timeoutMs: 10_000,
    });
    try {
      await sender.verify();
    } finally {
      await sender.close();
    }
    const accepted = sink.authAttempts.map((attempt) => attempt.accepted);
    expect(accepted[0]).toBe(false);
    expect(accepted.at(-1)).toBe(true);
    expect(tokens.issued.clientCredentials).toBe(issuedBefore + 1);
    expect(sink.messages).toHaveLength(0);
  });

  it('gives up after one renewal when the server keeps refusing, with the settings to check', async () => {
    // A token getter whose every token the server refuses (e.g. the app lacks mailbox permission).
    const source = imapSource(async () => 'at-never-valid-token-for-this-test');
    await expect(source.open()).rejects.toThrow(/refused the OAuth access token for inbox@example\.test, twice .*AZURE_CLIENT_ID .*FullAccess/);
  });
});
