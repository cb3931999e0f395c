/**
 * A real, throwaway Dovecot for integration tests (recipe: /work/shared/notes/testbed.md).
 *
 * Each instance lives in its own temporary folder with its own loopback ports, so test files can
 * run in parallel. Nothing under /etc/dovecot is read or written. As root the master runs as root
 * and everything else (logins, mail) as nobody, because Dovecot refuses to serve mail as uid 0.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { writeSelfSignedCertificate } from './certificate.js';

const execFileAsync = promisify(execFile);

export interface MailUser {
  user: string;
  password: string;
}

export interface DovecotOptions {
  /** Mail users; the first is the "primary" user that `user`/`password` and the helpers default to. */
  users?: MailUser[];
  /**
   * OAuth logins (XOAUTH2 / OAUTHBEARER). 'tokens-file': a token set with `setToken` is checked like
   * a password. 'introspection': Dovecot asks `introspectionUrl` (RFC 7662 style POST token=...).
   * Left out: only PLAIN/LOGIN are offered.
   */
  oauth?: 'tokens-file' | 'introspection';
  introspectionUrl?: string;
  /** Maildir (what the recipe measured) or sdbox (flat APPEND cost for very large folders). */
  mailboxFormat?: 'maildir' | 'sdbox';
}

export interface SeedOptions {
  /** User whose mailbox is seeded; the primary user when left out. */
  user?: string;
  /** INTERNALDATE per message, same order as the messages. */
  internalDates?: Array<Date | undefined>;
  /** System flags per message (\Seen, \Answered, \Flagged, \Draft, \Deleted). */
  flags?: Array<string[] | undefined>;
}

export interface ListedMessage {
  uid: number;
  flags: string[];
  messageId: string | undefined;
  subject: string | undefined;
  internalDate: Date | undefined;
}

export interface DovecotServer {
  host: '127.0.0.1';
  /** Plain IMAP. Dovecot offers STARTTLS here; `imapClientOptions()` turns it off for the client. */
  port: number;
  /** IMAP over TLS; the certificate is for 127.0.0.1/localhost and signed by itself (`caPem`). */
  tlsPort: number;
  /** LMTP for delivering "new mail" that fires IDLE; undefined when dovecot-lmtpd is missing. */
  lmtpPort: number | undefined;
  dir: string;
  caPem: string;
  caPath: string;
  logPath: string;
  user: string;
  password: string;
  users: MailUser[];
  seed(mailbox: string, messages: Array<Buffer | string>, options?: SeedOptions): Promise<void>;
  /**
   * Sets (or with undefined removes) the OAuth token accepted for user in 'tokens-file' mode.
   * Await it: Dovecot re-reads the file at most once a second, so this waits up to a second.
   */
  setToken(user: string, token: string | undefined): Promise<void>;
  mailboxes(user?: string): Promise<string[]>;
  list(mailbox: string, user?: string): Promise<ListedMessage[]>;
  setFlags(mailbox: string, uids: number[], flags: string[], user?: string): Promise<void>;
  createMailbox(mailbox: string, user?: string): Promise<void>;
  uidValidity(mailbox: string, user?: string): Promise<bigint>;
  /** Gives the mailbox a new UIDVALIDITY and new UIDs for the same messages (flags and dates kept). */
  resetUidValidity(mailbox: string, user?: string): Promise<{ before: bigint; after: bigint }>;
  imapClientOptions(overrides?: { user?: string; tls?: boolean; accessToken?: string }): ImapFlowOptions;
  doveadm(args: string[]): Promise<string>;
  readLog(): string;
  stop(): Promise<void>;
}

export const DEFAULT_MAIL_USERS: MailUser[] = [
  { user: 'inbox@example.test', password: 'inboxpass' },
  { user: 'hospital@example.test', password: 'hospitalpass' },
];

const INSTALL_HINT =
  'Dovecot is not installed. Run `npm test` (its set-up installs it as root), or as root: ' +
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd dovecot-lmtpd';

const SYSTEM_FLAG_TO_MAILDIR_LETTER: Record<string, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};

/** Masters started by this process, killed on exit so a crashed test leaves no daemon behind. */
const runningMasters = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killLeftovers = () => {
    for (const pid of runningMasters) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    runningMasters.clear();
  };
  process.on('exit', killLeftovers);
  // A signal death skips 'exit'; kill the masters, then die of the same signal as before.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLeftovers();
      process.kill(process.pid, signal);
    });
  }
}

function findExecutable(name: string): string | undefined {
  const searchPath = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin', '/usr/bin']);
  for (const folder of searchPath) {
    const candidate = path.join(folder, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function lookupId(file: '/etc/passwd' | '/etc/group', name: string, fallback: number): number {
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
    }
  } catch {
    // fall through
  }
  return fallback;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie master (exited, not yet reaped by pid 1) counts as stopped.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false;
  }
}

function childPids(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parentPid) children.push(Number(entry));
    } catch {
      // process ended while we looked
    }
  }
  return children;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Where instance folders go: PCN_TEST_TMPDIR when set, else /dev/shm when it is a roomy tmpfs
 * (mail files there cost no disk I/O, which matters on a busy shared machine), else os.tmpdir().
 * Containers often give /dev/shm only 64 MB, hence the free-space check.
 */
function testbedRoots(): string[] {
  if (process.env.PCN_TEST_TMPDIR) return [process.env.PCN_TEST_TMPDIR];
  const roots: string[] = [];
  try {
    const shm = fs.statfsSync('/dev/shm');
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    if (shm.bavail * shm.bsize > 2 * 1024 ** 3) roots.push('/dev/shm');
  } catch {
    // no usable /dev/shm
  }
  roots.push(os.tmpdir());
  return roots;
}

/**
 * Instances whose test process died without stopping them (SIGKILL, OOM) are found by their
 * owner.pid and cleaned up, so leftovers do not pile up across runs.
 */
function sweepAbandonedInstances(): void {
  for (const root of testbedRoots()) sweepAbandonedInstancesIn(root);
}

function sweepAbandonedInstancesIn(root: string): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith('pcn-dovecot-')) continue;
    const dir = path.join(root, entry);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8'));
      if (owner && isAlive(owner)) continue;
      const masterPid = Number(fs.readFileSync(path.join(dir, 'run', 'master.pid'), 'utf8'));
      if (masterPid && isAlive(masterPid)) process.kill(masterPid, 'SIGKILL');
    } catch {
      // no pid files: only remove it when it is old enough not to be starting right now
      try {
        if (Date.now() - fs.statSync(dir).mtimeMs < 10 * 60_000) continue;
      } catch {
        continue;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every folder from / down to dir must be searchable by the unprivileged Dovecot processes. */
function assertReachableByOthers(dir: string, unprivilegedUid: number): void {
  let current = dir;
  for (;;) {
    const stat = fs.statSync(current);
    const searchable = (stat.mode & 0o001) !== 0 || stat.uid === unprivilegedUid;
    if (!searchable) {
      throw new Error(
        `user with uid ${unprivilegedUid} cannot reach ${dir}: ${current} is not searchable by others; ` +
          'set TMPDIR to a folder such as /tmp',
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

function passwdFileLines(entries: Array<{ user: string; secret: string }>): string {
  return entries.map(({ user, secret }) => `${user}:{PLAIN}${secret}::::\n`).join('');
}

interface Ports {
  imap: number;
  imaps: number;
  lmtp: number;
}

function dovecotConfig(settings: {
  dir: string;
  ports: Ports;
  withLmtp: boolean;
  loginUser: string;
  loginGroup: string;
  mailUid: number;
  mailGid: number;
  oauth: DovecotOptions['oauth'];
  mailboxFormat: 'maildir' | 'sdbox';
}): string {
  const { dir, ports, oauth } = settings;
  const instanceName = `pcn-test-${createHash('sha1').update(dir).digest('hex').slice(0, 8)}`;
  const oauthMechanisms = oauth ? ' xoauth2 oauthbearer' : '';
  const oauthPassdb =
    oauth === 'tokens-file'
      ? // Dovecot 2.3 checks an OAuth token against the passdb like a password: a passwd-file of
        // tokens, limited to the OAuth mechanisms, gives real XOAUTH2/OAUTHBEARER logins.
        `passdb {\n  driver = passwd-file\n  mechanisms = xoauth2 oauthbearer\n  args = scheme=PLAIN username_format=%u ${dir}/tokens\n}\n`
      : oauth === 'introspection'
        ? `passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = ${dir}/oauth2.conf.ext\n}\n`
        : '';
  const mailLocation =
    settings.mailboxFormat === 'sdbox' ? 'sdbox:~/sdbox' : 'maildir:~/Maildir';
  return `# Written by test/support/dovecot.ts; throwaway instance
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = ${instanceName}
protocols = imap${settings.withLmtp ? ' lmtp' : ''}
listen = 127.0.0.1
log_path = ${dir}/log/dovecot.log
auth_verbose = yes
default_login_user = ${settings.loginUser}
default_internal_user = ${settings.loginUser}
default_internal_group = ${settings.loginGroup}
first_valid_uid = 1
ssl = yes
ssl_cert = <${dir}/ssl/cert.pem
ssl_key = <${dir}/ssl/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login${oauthMechanisms}
# No 2 s delay and no growing anvil penalty after a failed login: tests try bad credentials on purpose.
auth_failure_delay = 0
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u ${dir}/users
}
${oauthPassdb}userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
  default_fields = uid=${settings.mailUid} gid=${settings.mailGid} home=${dir}/mail/%u
}
mail_location = ${mailLocation}
mail_fsync = never
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}
protocol imap {
  # The default of 10 per user and IP is easy to reach with parallel tests and worker children.
  mail_max_userip_connections = 200
}
postmaster_address = postmaster@example.test
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
    ssl = yes
  }
  chroot =
}
${
  settings.withLmtp
    ? `service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${ports.lmtp}\n  }\n}\n`
    : ''
}service imap-urlauth-login {
  chroot =
}
service ipc {
  chroot =
}
service old-stats {
  chroot =
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

/**
 * Runs a command that forks a daemon and returns its exit code. Its output goes to a file, not a
 * pipe: the daemon inherits the descriptors, and a pipe would stay open for the daemon's lifetime.
 */
async function runDaemonizing(command: string, args: string[], outputPath: string): Promise<number> {
  const output = fs.openSync(outputPath, 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', output, output] });
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  } finally {
    fs.closeSync(output);
  }
}

/** The forked master writes its pid file a moment after the starting command has returned. */
async function readMasterPid(pidPath: string): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const pid = Number(fs.readFileSync(pidPath, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`Dovecot wrote no ${pidPath}`);
    await sleep(10);
  }
}

async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    const line = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let received = '';
      const finish = (value: string) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1000, () => finish(''));
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.includes('\n')) finish(received);
      });
      socket.on('error', (error) => finish(`error: ${error.message}`));
      socket.on('close', () => finish(received));
    });
    if (line.startsWith('* OK')) return;
    lastError = line || 'connection closed without greeting';
    await sleep(50);
  }
  throw new Error(`Dovecot did not greet on 127.0.0.1:${port} within ${timeoutMs} ms (${lastError.trim()})`);
}

function tailOf(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotServer> {
  const dovecotBinary = findExecutable('dovecot');
  const doveadmBinary = findExecutable('doveadm');
  if (!dovecotBinary || !doveadmBinary) throw new Error(INSTALL_HINT);
  if (options.oauth === 'introspection' && !options.introspectionUrl) {
    throw new Error("startDovecot: oauth 'introspection' needs introspectionUrl (see startTokenServer)");
  }
  const users = options.users?.length ? options.users : DEFAULT_MAIL_USERS;
  const primary = users[0]!;
  const withLmtp = fs.existsSync('/usr/lib/dovecot/lmtp');

  installExitHook();
  sweepAbandonedInstances();

  const isRoot = process.getuid?.() === 0;
  const loginUser = isRoot ? 'nobody' : os.userInfo().username;
  const loginGroup = isRoot ? 'nogroup' : (execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim() || 'nogroup');
  const mailUid = isRoot ? lookupId('/etc/passwd', 'nobody', 65534) : process.getuid!();
  const mailGid = isRoot ? lookupId('/etc/group', 'nogroup', 65534) : process.getgid!();

  const dir = fs.mkdtempSync(path.join(testbedRoots()[0]!, 'pcn-dovecot-'));
  if (/\s/.test(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`Dovecot test folder ${JSON.stringify(dir)} contains white space, which passwd-file args cannot hold; set TMPDIR`);
  }
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  fs.chmodSync(dir, 0o711);
  assertReachableByOthers(dir, mailUid);
  for (const sub of ['log', 'state', 'ssl', 'mail', 'seed']) fs.mkdirSync(path.join(dir, sub));
  if (isRoot) {
    fs.chownSync(path.join(dir, 'mail'), mailUid, mailGid);
    fs.chownSync(path.join(dir, 'seed'), mailUid, mailGid);
  }
  writeSelfSignedCertificate(path.join(dir, 'ssl'));
  const usersFile = path.join(dir, 'users');
  fs.writeFileSync(usersFile, passwdFileLines(users.map((u) => ({ user: u.user, secret: u.password }))));
  const tokensFile = path.join(dir, 'tokens');
  const tokens = new Map<string, string>();
  let tokensMtimeSeconds = Math.floor(Date.now() / 1000);
  const writeTokens = () => {
    const temporary = `${tokensFile}.tmp`;
    fs.writeFileSync(temporary, passwdFileLines([...tokens].map(([user, secret]) => ({ user, secret }))));
    // passwd-file re-reads a file when its mtime changes; two updates within one second would
    // otherwise look unchanged, so the stamp is pushed forward a second each time.
    tokensMtimeSeconds = Math.max(tokensMtimeSeconds + 1, Math.floor(Date.now() / 1000));
    fs.utimesSync(temporary, tokensMtimeSeconds, tokensMtimeSeconds);
    fs.renameSync(temporary, tokensFile);
  };
  writeTokens();
  if (options.oauth === 'introspection') {
    fs.writeFileSync(
      path.join(dir, 'oauth2.conf.ext'),
      [
        'introspection_mode = post',
        `introspection_url = ${options.introspectionUrl}`,
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        'timeout_msecs = 5000',
        '',
      ].join('\n'),
    );
  }
  const configPath = path.join(dir, 'dovecot.conf');
  const logPath = path.join(dir, 'log', 'dovecot.log');
  const caPath = path.join(dir, 'ssl', 'cert.pem');
  const startLogPath = path.join(dir, 'log', 'start.log');

  // Ports are picked by binding port 0 and released before Dovecot binds them, so another test
  // process can take one in between: then Dovecot exits with "Address already in use" and we retry.
  let ports: Ports | undefined;
  let masterPid = 0;
  for (let attempt = 1; attempt <= 5 && !masterPid; attempt++) {
    const candidate = { imap: await freePort(), imaps: await freePort(), lmtp: await freePort() };
    fs.writeFileSync(
      configPath,
      dovecotConfig({ dir, ports: candidate, withLmtp, loginUser, loginGroup, mailUid, mailGid, oauth: options.oauth, mailboxFormat: options.mailboxFormat ?? 'maildir' }),
    );
    // Stale sockets from an earlier start (anvil-auth-penalty above all) slow the first failed login.
    fs.rmSync(path.join(dir, 'run'), { recursive: true, force: true });
    const exitCode = await runDaemonizing(dovecotBinary, ['-c', configPath], startLogPath);
    if (exitCode === 0) {
      masterPid = await readMasterPid(path.join(dir, 'run', 'master.pid'));
      ports = candidate;
    } else {
      const startOutput = `${tailOf(startLogPath, 5)}\n${tailOf(logPath, 5)}`;
      if (!/Address already in use/.test(startOutput) || attempt === 5) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw new Error(`dovecot failed to start (exit ${exitCode}): ${startOutput.trim()}`);
      }
    }
  }
  if (!ports) throw new Error('dovecot failed to start');
  runningMasters.add(masterPid);
  try {
    await waitForGreeting(ports.imap, 20_000);
  } catch (error) {
    process.kill(masterPid, 'SIGKILL');
    runningMasters.delete(masterPid);
    throw new Error(`${(error as Error).message}\n${tailOf(logPath)}`);
  }

  const caPem = fs.readFileSync(caPath, 'utf8');
  const host = '127.0.0.1' as const;
  const userOrPrimary = (user?: string): MailUser => {
    const found = users.find((u) => u.user === (user ?? primary.user));
    if (!found) throw new Error(`unknown test mail user ${user}`);
    return found;
  };

  const doveadm = async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await execFileAsync(doveadmBinary, ['-c', configPath, ...args], { maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`doveadm ${args.join(' ')} failed: ${stderr.trim() || String(error)}`);
    }
  };

  const imapClientOptions: DovecotServer['imapClientOptions'] = (overrides = {}) => {
    const account = userOrPrimary(overrides.user);
    const auth = overrides.accessToken
      ? { user: account.user, accessToken: overrides.accessToken }
      : { user: account.user, pass: account.password };
    return overrides.tls
      ? { host, port: ports.imaps, secure: true, tls: { ca: caPem }, auth, logger: false }
      : { host, port: ports.imap, secure: false, doSTARTTLS: false, auth, logger: false };
  };

  /** Runs fn on a short-lived imapflow connection; the harness never shares a client with a test. */
  const withClient = async <T>(user: string | undefined, fn: (client: ImapFlow) => Promise<T>): Promise<T> => {
    const client = new ImapFlow(imapClientOptions({ user }));
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  };

  let seedCounter = 0;
  const seed: DovecotServer['seed'] = async (mailbox, messages, seedOptions = {}) => {
    if (messages.length === 0) return;
    const account = userOrPrimary(seedOptions.user);
    // doveadm import copies whole mailboxes from a source storage into "<dest_parent>/<name>". The
    // messages go into a source Maildir (LAYOUT=fs) holding one mailbox named after the target's
    // last path part, imported under the target's parent. Maildir assigns UIDs to new files sorted
    // by the number their name starts with, so a counter there keeps UID order = given order, and
    // the file's mtime becomes the INTERNALDATE.
    const separatorAt = mailbox.lastIndexOf('/');
    const parent = separatorAt >= 0 ? mailbox.slice(0, separatorAt) : '';
    const leaf = separatorAt >= 0 ? mailbox.slice(separatorAt + 1) : mailbox;
    const isInbox = parent === '' && leaf.toUpperCase() === 'INBOX';
    const sourceRoot = path.join(dir, 'seed', `import-${process.pid}-${++seedCounter}`);
    const mailboxDir = isInbox ? sourceRoot : path.join(sourceRoot, leaf);
    for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(mailboxDir, sub), { recursive: true });
    const now = Date.now() / 1000;
    messages.forEach((message, index) => {
      const flags = (seedOptions.flags?.[index] ?? [])
        .map((flag) => SYSTEM_FLAG_TO_MAILDIR_LETTER[flag])
        .filter((letter): letter is string => Boolean(letter))
        .sort()
        .join('');
      const fileName = `${1_000_000_000 + index}.M${index}P${process.pid}.seed:2,${flags}`;
      const filePath = path.join(mailboxDir, 'cur', fileName);
      fs.writeFileSync(filePath, message);
      const date = seedOptions.internalDates?.[index];
      const seconds = date ? date.getTime() / 1000 : now;
      fs.utimesSync(filePath, seconds, seconds);
    });
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${mailUid}:${mailGid}`, sourceRoot]);
    try {
      await doveadm([
        'import', '-u', account.user, '-s',
        `maildir:${sourceRoot}:LAYOUT=fs:INDEX=MEMORY`,
        parent,
        'mailbox', isInbox ? 'INBOX' : leaf,
      ]);
    } finally {
      fs.rmSync(sourceRoot, { recursive: true, force: true });
    }
  };

  const list: DovecotServer['list'] = (mailbox, user) =>
    withClient(user, async (client) => {
      const lock = await client.getMailboxLock(mailbox, { readOnly: true });
      try {
        const found: ListedMessage[] = [];
        if ((client.mailbox && client.mailbox.exists) === 0) return found;
        for await (const message of client.fetch('1:*', { uid: true, flags: true, envelope: true, internalDate: true })) {
          found.push({
            uid: message.uid,
            flags: [...(message.flags ?? [])].filter((flag) => flag !== '\\Recent').sort(),
            messageId: message.envelope?.messageId,
            subject: message.envelope?.subject,
            internalDate: message.internalDate instanceof Date ? message.internalDate : message.internalDate ? new Date(message.internalDate) : undefined,
          });
        }
        return found.sort((a, b) => a.uid - b.uid);
      } finally {
        lock.release();
      }
    });

  const uidValidity: DovecotServer['uidValidity'] = (mailbox, user) =>
    withClient(user, async (client) => {
      const status = await client.status(mailbox, { uidValidity: true });
      if (!status) throw new Error(`STATUS ${mailbox} failed`);
      return BigInt(status.uidValidity ?? 0);
    });

  const stop = async (): Promise<void> => {
    if (!runningMasters.has(masterPid)) return;
    const children = childPids(masterPid);
    try {
      process.kill(masterPid, 'SIGTERM');
    } catch {
      // already gone
    }
    // The master waits a fixed second for its log process before it exits.
    const deadline = Date.now() + 10_000;
    while (isAlive(masterPid) && Date.now() < deadline) await sleep(25);
    if (isAlive(masterPid)) {
      for (const pid of [masterPid, ...children]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    runningMasters.delete(masterPid);
    if (process.env.PCN_TEST_KEEP_DOVECOT !== '1') fs.rmSync(dir, { recursive: true, force: true });
  };

  return {
    host,
    port: ports.imap,
    tlsPort: ports.imaps,
    lmtpPort: withLmtp ? ports.lmtp : undefined,
    dir,
    caPem,
    caPath,
    logPath,
    user: primary.user,
    password: primary.password,
    users,
    seed,
    async setToken(user, token) {
      if (token === undefined) tokens.delete(user);
      else tokens.set(user, token);
      writeTokens();
      // The auth process looks at the file at most once per second of its clock; once the next
      // second has begun, the next login is sure to see the new file.
      await sleep(1000 - (Date.now() % 1000) + 20);
    },
    mailboxes: (user) =>
      withClient(user, async (client) => (await client.list()).map((entry) => entry.path).sort()),
    list,
    setFlags: (mailbox, uids, flags, user) =>
      withClient(user, async (client) => {
        const lock = await client.getMailboxLock(mailbox);
        try {
          const ok = await client.messageFlagsSet(uids.join(','), flags, { uid: true });
          if (!ok) throw new Error(`could not set flags on ${mailbox} ${uids.join(',')}`);
        } finally {
          lock.release();
        }
      }),
    createMailbox: async (mailbox, user) => {
      await doveadm(['mailbox', 'create', '-u', userOrPrimary(user).user, mailbox]);
    },
    uidValidity,
    resetUidValidity: async (mailbox, user) => {
      const account = userOrPrimary(user);
      const before = await uidValidity(mailbox, account.user);
      // Keep the messages with their flags and dates, empty the mailbox, give it a new
      // UIDVALIDITY, and put the same messages back: they come back under new UIDs, as after a
      // server-side rebuild.
      const saved = await withClient(account.user, async (client) => {
        const lock = await client.getMailboxLock(mailbox, { readOnly: true });
        try {
          const kept: Array<{ source: Buffer; flags: string[]; internalDate: Date | undefined }> = [];
          if (client.mailbox && client.mailbox.exists === 0) return kept;
          for await (const message of client.fetch('1:*', { uid: true, flags: true, internalDate: true, source: true })) {
            kept.push({
              source: message.source ?? Buffer.alloc(0),
              flags: [...(message.flags ?? [])],
              internalDate: message.internalDate ? new Date(message.internalDate) : undefined,
            });
          }
          return kept;
        } finally {
          lock.release();
        }
      });
      await doveadm(['expunge', '-u', account.user, 'mailbox', mailbox, 'all']);
      const newValidity = Number(before) + 1 + Math.floor(Math.random() * 1000);
      await doveadm(['mailbox', 'update', '-u', account.user, '--uid-validity', String(newValidity), mailbox]);
      await seed(
        mailbox,
        saved.map((m) => m.source),
        { user: account.user, flags: saved.map((m) => m.flags), internalDates: saved.map((m) => m.internalDate) },
      );
      const after = await uidValidity(mailbox, account.user);
      if (after === before) throw new Error(`UIDVALIDITY of ${mailbox} did not change (${before})`);
      return { before, after };
    },
    imapClientOptions,
    doveadm,
    readLog: () => tailOf(logPath, 10_000),
    stop,
  };
}
