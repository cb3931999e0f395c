/**
 * Fault-injecting loopback servers for the hardening tests, kept small and local to them: an SMTP
 * sink that can refuse or drop connections, and a TCP proxy that can cut, truncate or slow a stream.
 */
import net from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkMessage {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  inReplyTo: string;
  references: string[];
  headers: Map<string, unknown>;
  text: string;
  html: string;
}

export interface FaultySmtpSink {
  port: number;
  messages: SinkMessage[];
  /** The next n DATA commands are refused with `code message`. */
  failNext(n: number, code: number, message: string): void;
  /** The next n connections are refused with 421 as soon as they open (0 turns this off). */
  dropNextConnections(n: number): void;
  waitFor(n: number, ms: number): Promise<void>;
  /** Called with each message the sink accepts, as it arrived (undefined: nobody). */
  onAccepted(listener: ((raw: Buffer) => void) | undefined): void;
  clear(): void;
  stop(): Promise<void>;
}

export async function startFaultySmtpSink(): Promise<FaultySmtpSink> {
  const messages: SinkMessage[] = [];
  let failures: Array<{ code: number; message: string }> = [];
  let drops = 0;
  let accepted: ((raw: Buffer) => void) | undefined;
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, callback) {
      if (drops > 0) {
        drops--;
        const error = new Error('Service not available, closing transmission channel') as Error & { responseCode: number };
        error.responseCode = 421;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const failure = failures.shift();
        if (failure) {
          const error = new Error(failure.message) as Error & { responseCode: number };
          error.responseCode = failure.code;
          return callback(error);
        }
        const parsed = await simpleParser(Buffer.concat(chunks));
        const refs = parsed.references;
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: parsed.subject ?? '',
          messageId: parsed.messageId ?? '',
          inReplyTo: parsed.inReplyTo ?? '',
          references: Array.isArray(refs) ? refs : refs ? [refs] : [],
          headers: parsed.headers as Map<string, unknown>,
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
        });
        accepted?.(Buffer.concat(chunks));
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    port,
    messages,
    failNext(n, code, message) {
      for (let i = 0; i < n; i++) failures.push({ code, message });
    },
    dropNextConnections(n) {
      drops = n;
    },
    async waitFor(n, ms) {
      const until = Date.now() + ms;
      while (messages.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    onAccepted(listener) {
      accepted = listener;
    },
    clear() {
      messages.length = 0;
      failures = [];
      drops = 0;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface FaultyProxy {
  port: number;
  /** Destroy every open connection now. */
  cutAll(): void;
  /** Each new connection is cut after n bytes from the server (undefined: never). */
  cutAfterBytes(n: number | undefined): void;
  /** Delay every chunk from the server by ms. */
  setLatency(ms: number): void;
  stop(): Promise<void>;
}

export async function startFaultyProxy(targetPort: number): Promise<FaultyProxy> {
  const sockets = new Set<net.Socket>();
  let cutAfter: number | undefined;
  let latency = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const limit = cutAfter;
    let fromServer = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      const forward = () => {
        if (client.destroyed) return;
        if (limit !== undefined && fromServer + chunk.length >= limit) {
          client.write(chunk.subarray(0, Math.max(0, limit - fromServer)));
          return end();
        }
        fromServer += chunk.length;
        client.write(chunk);
      };
      if (latency > 0) setTimeout(forward, latency);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cutAll: () => [...sockets].forEach((s) => s.destroy()),
    cutAfterBytes: (n) => (cutAfter = n),
    setLatency: (ms) => (latency = ms),
    stop: () => {
      [...sockets].forEach((s) => s.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
