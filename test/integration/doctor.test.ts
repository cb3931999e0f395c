import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.js';
import { REPO_ROOT, runCli } from '../support/run-cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

// `doctor` against a real Dovecot and SMTP server: it must pass when all is well and, when not,
// say in plain words which setting to change.
let dovecot: DovecotServer;
let sink: SmtpSink;
let workDir: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    IMAP_HOST: '127.0.0.1',
    IMAP_PORT: String(dovecot.tlsPort),
    IMAP_SECURE: 'true',
    IMAP_TLS_CA_FILE: dovecot.caPath,
    IMAP_USER: dovecot.user,
    IMAP_PASSWORD: dovecot.password,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink.port),
    SMTP_SECURE: 'false',
    SMTP_AUTH: 'password',
    SMTP_USER: 'sender@example.test',
    SMTP_PASSWORD: 'smtp-secret-1',
    MAIL_FROM: dovecot.user,
    POLICY_FILE: path.join(REPO_ROOT, 'config/policy.example.yaml'),
    TEMPLATES_DIR: path.join(REPO_ROOT, 'templates'),
    DATABASE_PATH: path.join(workDir, 'cases.sqlite'),
    ...extra,
  };
}

const doctor = (extra: Record<string, string> = {}, args: string[] = []) => runCli(['doctor', ...args], env(extra), { cwd: workDir });

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcn-doctor-'));
  [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink({ auth: 'password', users: [{ user: 'sender@example.test', password: 'smtp-secret-1' }] })]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), sink?.stop()]);
});

describe('doctor', () => {
  it('reports missing outcome folders, creates them with --fix, and then passes every check', async () => {
    const first = await doctor();
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/✗ Outcome folders: missing: PCN\/Replied/);
    expect(first.stdout).toMatch(/fix: run `pcn-autoreply doctor --fix`/);

    const fixed = await doctor({}, ['--fix']);
    expect(fixed.stdout).toMatch(/✓ Outcome folders: created/);
    expect(fixed.code).toBe(0);

    const result = await doctor();
    expect(result.stdout).toMatch(/✓ Settings/);
    expect(result.stdout).toMatch(/✓ Policy and templates/);
    expect(result.stdout).toMatch(/✓ Database writable/);
    expect(result.stdout).toMatch(/✓ IMAP login: inbox@example.test/);
    expect(result.stdout).toMatch(/✓ Mailbox "INBOX" exists/);
    expect(result.stdout).toMatch(/✓ Server capabilities: MOVE, UIDPLUS, IDLE/);
    // Exchange's "Sent Items", the test server's "Sent": the folder the server marks \Sent (RFC 6154).
    expect(result.stdout).toMatch(/✓ Sent folder: "Sent": a reply whose delivery was not confirmed \(a crash mid-send\) is looked for there/);
    expect(result.stdout).toMatch(/✓ Second IMAP connection \(read-only\): opens and examines the mailbox read-only/);
    expect(result.stdout).toMatch(/✓ SMTP login \(nothing sent\)/);
    const one = await doctor({ IMAP_SECOND_CONNECTION: 'false' });
    expect(one.stdout).toMatch(/– Second IMAP connection \(read-only\): not used: IMAP_SECOND_CONNECTION is false; passes read messages through the first connection/);
    expect(one.code).toBe(0);
    expect(result.stdout).toMatch(/All checks passed/);
    expect(result.code).toBe(0);
    expect(sink.messages).toHaveLength(0);
    // The passwords are never printed.
    expect(result.stdout + result.stderr).not.toContain(dovecot.password);
    expect(result.stdout + result.stderr).not.toContain('smtp-secret-1');
  });

  it('fails on a wrong password and names IMAP_PASSWORD', async () => {
    const result = await doctor({ IMAP_PASSWORD: 'not-the-password' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ IMAP login/);
    expect(result.stdout).toMatch(/fix: the user name or password is wrong: check IMAP_USER .* and IMAP_PASSWORD in \.env/);
    expect(result.stdout).toMatch(/– Mailbox "INBOX" exists: needs the IMAP login first/);
    expect(result.stdout).not.toContain('not-the-password');
  });

  it('fails on a missing mailbox folder and lists the folders there are', async () => {
    const result = await doctor({ IMAP_MAILBOX: 'Shared Inbox' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✓ IMAP login/);
    expect(result.stdout).toMatch(/✗ Mailbox "Shared Inbox" exists: there is no folder "Shared Inbox"/);
    expect(result.stdout).toMatch(/fix: set IMAP_MAILBOX to the folder to read \(usually INBOX\); the mailbox has: .*INBOX/);
  });

  it('fails on an unreachable host and names IMAP_HOST and IMAP_PORT', async () => {
    const closedPort = String(await unusedPort());
    const result = await doctor({ IMAP_PORT: closedPort, SMTP_PORT: closedPort });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ IMAP login/);
    expect(result.stdout).toMatch(/fix: the server could not be reached: check IMAP_HOST, IMAP_PORT and IMAP_SECURE/);
    expect(result.stdout).toMatch(/✗ SMTP login .*\n\s+fix: the SMTP server could not be reached: check SMTP_HOST, SMTP_PORT/);
  });

  it('names what is wrong with the policy itself, not only that something is', async () => {
    const missing = await doctor({ POLICY_FILE: path.join(workDir, 'no-such-policy.yaml') });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/✗ Policy and templates: the policy .*no-such-policy\.yaml has 1 problem\(s\): .*no-such-policy\.yaml:1:1 +the policy file does not exist \(fix: /);

    const misspelt = path.join(workDir, 'misspelt-policy.yaml');
    fs.writeFileSync(misspelt, fs.readFileSync(path.join(REPO_ROOT, 'config/policy.example.yaml'), 'utf8').replace(/^limits:/m, 'limit:'));
    const result = await doctor({ POLICY_FILE: misspelt });
    expect(result.stdout).toMatch(/✗ Policy and templates: the policy .*misspelt-policy\.yaml has \d+ problem\(s\): .*misspelt-policy\.yaml:\d+:\d+ +\S*limit/);
  });

  it('fails on missing settings without trying the servers', async () => {
    const result = await doctor({ IMAP_HOST: '' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ Settings: IMAP_HOST is not set/);
    expect(result.stdout).toMatch(/– Everything else/);
  });
});

async function unusedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
