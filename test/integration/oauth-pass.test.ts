import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { startTokenServer, type TokenServer } from '../support/oauth-endpoints.js';
import { REPO_ROOT, runCli } from '../support/run-cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

// A pass over the real protocol paths with OAuth 2.0: msal-node gets tokens from the local
// Entra stand-in (HTTPS, its CA trusted through NODE_EXTRA_CA_CERTS), Dovecot checks them by
// introspection, and the SMTP sink accepts XOAUTH2 only for tokens the stand-in says are active.
const NOW = '2026-11-20T09:00:00Z';
const SAMPLE_DIR = path.join(REPO_ROOT, 'data/sample-inbox');
const sample = fs.readdirSync(SAMPLE_DIR).filter((name) => name.endsWith('.eml')).sort().map((name) => fs.readFileSync(path.join(SAMPLE_DIR, name)));

let tokens: TokenServer;
let dovecot: DovecotServer;
let sink: SmtpSink;
let workDir: string;
/** Every access token the SMTP sink was shown: none may appear in the logs. */
const seenTokens = new Set<string>();

function env(extra: Record<string, string> = {}): Record<string, string> {
  const client = tokens.clients[0]!;
  return {
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(dovecot.tlsPort),
    IMAP_SECURE: 'true',
    IMAP_TLS_CA_FILE: dovecot.caPath,
    IMAP_USER: dovecot.user,
    IMAP_AUTH: 'oauth2',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink.port),
    SMTP_SECURE: 'false',
    SMTP_AUTH: 'oauth2',
    SMTP_RETRY_DELAY_MS: '50',
    MAIL_FROM: dovecot.user,
    AZURE_TENANT_ID: tokens.tenant,
    AZURE_CLIENT_ID: client.clientId,
    AZURE_CLIENT_SECRET: client.clientSecret,
    AZURE_AUTHORITY_HOST: `https://${tokens.authorityHost}`,
    NODE_EXTRA_CA_CERTS: tokens.caPath,
    OAUTH_TOKEN_FILE: path.join(workDir, 'oauth-token.json'),
    POLICY_FILE: path.join(REPO_ROOT, 'config/policy.example.yaml'),
    TEMPLATES_DIR: path.join(REPO_ROOT, 'templates'),
    DATABASE_PATH: path.join(workDir, 'cases.sqlite'),
    LOG_LEVEL: 'debug',
    ...extra,
  };
}

const once = (extra: Record<string, string> = {}) => runCli(['once', '--now', NOW], env(extra), { cwd: workDir });

function expectNoSecrets(output: string, secret: string): void {
  expect(output).not.toContain(secret);
  for (const token of seenTokens) expect(output).not.toContain(token);
  // Refresh and access tokens of the stand-in all start so; none may be printed.
  expect(output).not.toMatch(/\b(at|rt)-[A-Za-z0-9_-]{20,}/);
}

beforeAll(async () => {
  tokens = await startTokenServer();
  [dovecot, sink] = await Promise.all([
    startDovecot({ oauth: 'introspection', introspectionUrl: tokens.introspectionUrl }),
    startSmtpSink({
      auth: 'xoauth2',
      validateToken: (_user, token) => {
        seenTokens.add(token);
        return tokens.isActive(token);
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop(), tokens?.stop()]);
});

beforeEach(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-oauth-'));
  await dovecot.doveadm(['expunge', '-u', dovecot.user, 'mailbox', '*', 'all']);
  sink.clear();
});

describe('OAuth 2.0 (client credentials) end to end', () => {
  it('runs a pass: IMAP and SMTP log in with an app token, replies go out, nothing secret is logged', async () => {
    await dovecot.seed('INBOX', sample);
    const before = tokens.issued.clientCredentials;
    const result = await once();
    expect(result.stderr).not.toMatch(/pass failed/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Pass finished: fetched 12, replied 7/);
    expect(sink.messages).toHaveLength(7);
    expect(sink.authAttempts.every((attempt) => attempt.method === 'XOAUTH2' && attempt.accepted)).toBe(true);
    // One token serves IMAP and SMTP for the whole pass.
    expect(tokens.issued.clientCredentials - before).toBe(1);
    expect(tokens.issued.introspectionsActive).toBeGreaterThan(0);
    expect(seenTokens.size).toBeGreaterThan(0);
    expectNoSecrets(result.stdout + result.stderr, tokens.clients[0]!.clientSecret);
  });

  it('a refused client secret gives one clear error naming AZURE_CLIENT_SECRET and sends nothing', async () => {
    await dovecot.seed('INBOX', sample);
    const wrong = 'this-is-not-the-secret';
    const result = await once({ AZURE_CLIENT_SECRET: wrong });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/AZURE_CLIENT_SECRET was refused by the tenant: check the secret value in \.env .*\(AADSTS7000215\)/);
    expect(sink.messages).toHaveLength(0);
    expect((await dovecot.list('INBOX')).length).toBe(sample.length);
    expectNoSecrets(result.stdout + result.stderr, wrong);
  });

  it('a sign-in service that takes the connection and never answers ends the pass within IMAP_TIMEOUT_MS, with the fix', async () => {
    await dovecot.seed('INBOX', sample);
    const blackHole = net.createServer(() => undefined);
    const held = new Set<net.Socket>();
    blackHole.on('connection', (socket) => held.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const result = await runCli(
        ['once', '--now', NOW],
        env({ AZURE_AUTHORITY_HOST: `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`, IMAP_TIMEOUT_MS: '2000' }),
        { cwd: workDir, timeoutMs: 30_000 },
      );
      expect(result.signal).toBeNull();
      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(result.stderr).toMatch(/the Microsoft sign-in service did not answer in time \(IMAP_TIMEOUT_MS\): check the network, any proxy, and AZURE_AUTHORITY_HOST \(ETIMEDOUT\)/);
      expect(sink.messages).toHaveLength(0);
      expect((await dovecot.list('INBOX')).length).toBe(sample.length);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
  }, 40_000);
});

describe('doctor with OAuth 2.0', () => {
  it('obtains a token and logs in to IMAP and SMTP with it, without sending', async () => {
    const result = await runCli(['doctor', '--fix'], env({ AZURE_CLIENT_SECRET_EXPIRES: '2099-12-31' }), { cwd: workDir });
    expect(result.stdout).toMatch(/✓ OAuth access token: obtained from the tenant/);
    expect(result.stdout).toMatch(/✓ IMAP login: inbox@example\.test/);
    expect(result.stdout).toMatch(/✓ SMTP login \(nothing sent\)/);
    expect(result.code).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expectNoSecrets(result.stdout + result.stderr, tokens.clients[0]!.clientSecret);
  });

  it('fails the token check with the fix when the secret has expired', async () => {
    const result = await runCli(['doctor'], env({ AZURE_CLIENT_SECRET_EXPIRES: '2020-01-31' }), { cwd: workDir });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ OAuth access token: a credential has expired\n\s+fix: the client secret expired on 2020-01-31: put a new one in AZURE_CLIENT_SECRET/);
  });
});

describe('OAuth 2.0 delegated sign-in (device code)', () => {
  it('auth login saves a private sign-in file; passes rotate its refresh token; a revoked sign-in stops the pass with the fix and sends nothing', async () => {
    const device = { AZURE_AUTH_FLOW: 'device', AZURE_CLIENT_SECRET: '' };
    // Access tokens too short-lived to reuse (msal renews 5 minutes ahead): each pass must refresh,
    // and the new refresh token is kept.
    tokens.setAccessTokenSeconds(60);
    const login = await runCli(['auth', 'login'], env(device), { cwd: workDir });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/enter the code/);
    expect(login.stdout).toMatch(/Signed in as inbox@example\.test/);
    const file = path.join(workDir, 'oauth-token.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const savedAtLogin = fs.readFileSync(file, 'utf8');

    try {
      await dovecot.seed('INBOX', sample.slice(0, 2));
      const refreshesBefore = tokens.issued.refreshToken;
      const first = await once(device);
      expect(first.code).toBe(0);
      expect(sink.messages).toHaveLength(2);
      expect(tokens.issued.refreshToken).toBeGreaterThan(refreshesBefore);
      const rotated = fs.readFileSync(file, 'utf8');
      expect(rotated).not.toBe(savedAtLogin);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expectNoSecrets(first.stdout + first.stderr + login.stdout + login.stderr, tokens.clients[0]!.clientSecret);

      // The sign-in is revoked (password reset, or an administrator withdrew it).
      tokens.revokeAll(dovecot.user);
      sink.clear();
      await dovecot.seed('INBOX', sample.slice(2, 4));
      const revoked = await once(device);
      expect(revoked.code).toBe(1);
      expect(revoked.stderr).toMatch(/the saved sign-in in OAUTH_TOKEN_FILE has expired or was revoked: run `pcn-autoreply auth login` again \(AADSTS70008\)/);
      expect(sink.messages).toHaveLength(0);
      expectNoSecrets(revoked.stdout + revoked.stderr, tokens.clients[0]!.clientSecret);
    } finally {
      tokens.setAccessTokenSeconds(3600);
    }
  });
});
