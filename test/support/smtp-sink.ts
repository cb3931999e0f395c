/**
 * A real SMTP server (npm smtp-server) on loopback that records what the bot sends, and can be
 * told to fail: reject with 421/451/550, or drop the connection in the middle of a transaction.
 *
 * smtp-server waits a fixed 100 ms before every greeting, so clients should use a pooled
 * nodemailer transport (`pool: true`) or expect 0.1 s per connection.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

export type SinkAuth = 'none' | 'password' | 'xoauth2';
export type FailureCode = 421 | 451 | 550;
export type FailureStage = 'rcpt' | 'data';

export interface SmtpSinkOptions {
  auth?: SinkAuth;
  /** Accounts for 'password' (and the user names allowed for 'xoauth2'). */
  users?: Array<{ user: string; password: string }>;
  /** For 'xoauth2'. Without it, tokens registered with `setToken` are accepted. */
  validateToken?: (user: string, token: string) => boolean;
  /** Largest message accepted, in bytes (SIZE extension); unlimited when left out. */
  maxMessageBytes?: number;
}

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** The authenticated user of the session, when there was one. */
  authUser: string | undefined;
  raw: Buffer;
  headerFrom: string | undefined;
  headerTo: string[];
  headerCc: string[];
  subject: string | undefined;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  autoSubmitted: string | undefined;
  autoResponseSuppress: string | undefined;
  pcnCaseId: string | undefined;
  /** Every header, lower-case name to its raw value(s) as mailparser gives them. */
  headers: Map<string, unknown>;
  text: string | undefined;
  html: string | undefined;
  receivedAt: Date;
}

export interface RejectedAttempt {
  stage: FailureStage;
  code: number;
  from: string | undefined;
  to: string[];
  message: string;
}

export interface AuthAttempt {
  method: string;
  user: string | undefined;
  accepted: boolean;
}

export interface SmtpSink {
  host: '127.0.0.1';
  port: number;
  messages: ReceivedMail[];
  rejected: RejectedAttempt[];
  authAttempts: AuthAttempt[];
  /** Connections accepted so far (a pooled transport should open few). */
  connectionCount(): number;
  /** Rejects the next n RCPT TO or DATA commands (DATA by default) with this code. 421 also closes the connection. */
  failNext(n: number, code: FailureCode, message?: string, stage?: FailureStage): void;
  /** Destroys the socket of the next n transactions after DATA has started, before any answer. */
  dropNextConnections(n: number): void;
  /**
   * Takes the next n messages whole (they count as delivered and appear in `messages`), then drops
   * the connection instead of answering 250: the client cannot know the message arrived.
   */
  dropAfterDataNext(n: number): void;
  setToken(user: string, token: string | undefined): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  clear(): void;
  stop(): Promise<void>;
}

const DEFAULT_FAILURE_TEXT: Record<FailureCode, string> = {
  421: 'Service not available, closing transmission channel (test)',
  451: 'Requested action aborted: local error in processing (test)',
  550: 'Requested action not taken: mailbox unavailable (test)',
};

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

function addressTexts(value: AddressObject | AddressObject[] | undefined): string[] {
  if (!value) return [];
  const objects = Array.isArray(value) ? value : [value];
  return objects.flatMap((object) => object.value.map((entry) => entry.address ?? '')).filter(Boolean);
}

function headerText(headers: Map<string, unknown>, name: string): string | undefined {
  const value = headers.get(name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (typeof value === 'object' && 'text' in value) return String((value as { text: unknown }).text);
  if (typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
  return String(value);
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const authMode = options.auth ?? 'none';
  const users = options.users ?? [{ user: 'inbox@example.test', password: 'inboxpass' }];
  const tokens = new Map<string, string>();
  const messages: ReceivedMail[] = [];
  const rejected: RejectedAttempt[] = [];
  const authAttempts: AuthAttempt[] = [];
  const failures: Array<{ code: FailureCode; message: string; stage: FailureStage }> = [];
  let dropsLeft = 0;
  let dropsAfterDataLeft = 0;
  let connections = 0;
  let waiters: Array<() => void> = [];

  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };

  const takeFailure = (stage: FailureStage) => {
    const index = failures.findIndex((failure) => failure.stage === stage);
    return index >= 0 ? failures.splice(index, 1)[0] : undefined;
  };

  const recordRejection = (stage: FailureStage, code: number, message: string, session: SMTPServerSession) => {
    rejected.push({
      stage,
      code,
      message,
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
      to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    });
  };

  const tokenIsValid = (user: string, token: string): boolean =>
    options.validateToken ? options.validateToken(user, token) : tokens.get(user) === token;

  const server: SMTPServer = new SMTPServer({
    secure: false,
    disabledCommands: authMode === 'none' ? ['STARTTLS', 'AUTH'] : ['STARTTLS'],
    authOptional: authMode === 'none',
    allowInsecureAuth: true,
    authMethods: authMode === 'xoauth2' ? ['XOAUTH2'] : ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    size: options.maxMessageBytes,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth: SMTPServerAuthentication, _session, callback) {
      const user = auth.username;
      if (auth.method === 'XOAUTH2') {
        const accepted = authMode === 'xoauth2' && !!user && !!auth.accessToken && tokenIsValid(user, auth.accessToken);
        authAttempts.push({ method: auth.method, user, accepted });
        if (accepted) return callback(null, { user });
        // The XOAUTH2 failure answer Gmail and Exchange give: a 334 challenge with a JSON status,
        // after which the client sends an empty line and gets 535.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://outlook.office365.com/.default' } });
      }
      const account = users.find((candidate) => candidate.user === user);
      const accepted = authMode === 'password' && !!account && account.password === auth.password;
      authAttempts.push({ method: auth.method, user, accepted });
      if (accepted) return callback(null, { user });
      return callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
    },
    onRcptTo(address, session, callback) {
      const failure = takeFailure('rcpt');
      if (failure) {
        recordRejection('rcpt', failure.code, failure.message, session);
        return callback(smtpError(failure.code, failure.message));
      }
      callback();
    },
    onData(stream, session, callback) {
      if (dropsLeft > 0) {
        dropsLeft--;
        recordRejection('data', 0, 'connection dropped', session);
        const connection = [...(server as unknown as { connections: Set<{ id: string; _socket?: { destroy(): void } }> }).connections]
          .find((candidate) => candidate.id === session.id);
        stream.resume();
        // Without an answer to DATA the client cannot know whether the message was taken.
        connection?._socket?.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const failure = takeFailure('data');
        if (failure) {
          recordRejection('data', failure.code, failure.message, session);
          return callback(smtpError(failure.code, failure.message));
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw, { skipImageLinks: true })
          .then((parsed) => {
            const headers = parsed.headers as Map<string, unknown>;
            const references = parsed.references;
            messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              authUser: typeof session.user === 'string' ? session.user : undefined,
              raw,
              headerFrom: parsed.from?.value[0]?.address,
              headerTo: addressTexts(parsed.to),
              headerCc: addressTexts(parsed.cc),
              subject: parsed.subject,
              messageId: parsed.messageId,
              inReplyTo: parsed.inReplyTo,
              references: references === undefined ? [] : Array.isArray(references) ? references : [references],
              autoSubmitted: headerText(headers, 'auto-submitted'),
              autoResponseSuppress: headerText(headers, 'x-auto-response-suppress'),
              pcnCaseId: headerText(headers, 'x-pcn-case-id'),
              headers,
              text: parsed.text,
              html: typeof parsed.html === 'string' ? parsed.html : undefined,
              receivedAt: new Date(),
            });
            if (dropsAfterDataLeft > 0) {
              dropsAfterDataLeft--;
              notify();
              const connection = [...(server as unknown as { connections: Set<{ id: string; _socket?: { destroy(): void } }> }).connections]
                .find((candidate) => candidate.id === session.id);
              connection?._socket?.destroy();
              return;
            }
            // Answer 250 only once the message is recorded, so a resolved sendMail() means the
            // test can already see it.
            callback();
            notify();
          })
          .catch((error: unknown) => callback(smtpError(451, `sink could not parse the message: ${String(error)}`)));
      });
    },
  });
  server.on('error', () => {
    // Socket errors from clients that we cut on purpose; the sink keeps serving.
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    messages,
    rejected,
    authAttempts,
    connectionCount: () => connections,
    failNext(n, code, message, stage = 'data') {
      for (let i = 0; i < n; i++) failures.push({ code, message: message ?? DEFAULT_FAILURE_TEXT[code], stage });
    },
    dropAfterDataNext(n) {
      dropsAfterDataLeft += n;
    },
    dropNextConnections(n) {
      dropsLeft += n;
    },
    setToken(user, token) {
      if (token === undefined) tokens.delete(user);
      else tokens.set(user, token);
    },
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`SMTP sink: waited ${timeoutMs} ms for ${count} messages, have ${messages.length}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return messages.slice(0, count);
    },
    clear() {
      messages.length = 0;
      rejected.length = 0;
      authAttempts.length = 0;
      failures.length = 0;
      dropsLeft = 0;
      dropsAfterDataLeft = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        // close() waits for open (pooled) client connections to end; do not let a test hang on it.
        const timer = setTimeout(resolve, 3000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
