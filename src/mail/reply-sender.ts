import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
// nodemailer (about 14 MB of a process's memory) is loaded on the first reply, not at start: a dry
// run or a pass with nothing to answer never needs it (issue 7: RSS < 150 MB).
import type { Transporter, TransportOptions } from 'nodemailer';
import type { RenderedReply } from '../core/render-reply.js';
import { composeReply } from './compose-reply.js';

export interface SendResult {
  /** The server's words, e.g. `250 2.0.0 Ok: queued`. */
  response: string;
}

/** Why a send failed: `permanent` (5xx: do not retry, a person must look) or `transient` (4xx, network). */
export class SendError extends Error {
  constructor(
    message: string,
    readonly kind: 'permanent' | 'transient',
    readonly response: string,
    /** True when the server certainly did not take the message (refused, or failed before the data was sent). */
    readonly notAccepted: boolean,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

export interface ReplySender {
  readonly description: string;
  send(reply: RenderedReply): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SmtpSenderOptions {
  host: string;
  port: number;
  secure: boolean;
  auth:
    | { type: 'password'; user: string; pass: string }
    | { type: 'oauth2'; user: string; accessToken: (options?: { forceRefresh?: boolean }) => Promise<string> }
    | null;
  tlsRejectUnauthorized: boolean;
  timeoutMs: number;
}

/** Sends over SMTP with a pool of up to 4 connections: a few TLS handshakes and logins for a whole pass. */
export class SmtpSender implements ReplySender {
  readonly description: string;
  /** One transport for the pass, shared by the replies in flight (created on the first of them). */
  private transport: Promise<Transporter> | null = null;

  constructor(private readonly options: SmtpSenderOptions) {
    this.description = `smtp://${options.host}:${options.port}`;
  }

  async send(reply: RenderedReply): Promise<SendResult> {
    try {
      const raw = composeReply(reply, new Date());
      const info = await this.withTokenRetry((transport) => transport.sendMail({ envelope: { from: reply.from, to: [reply.to] }, raw }));
      return { response: String(info.response ?? '') };
    } catch (error) {
      throw toSendError(error);
    }
  }

  async verify(): Promise<void> {
    await this.withTokenRetry((transport) => transport.verify());
  }

  /** A refused OAuth token (EAUTH: AUTH comes before DATA, so nothing was sent) is renewed once. */
  private async withTokenRetry<T>(action: (transport: Transporter) => Promise<T>): Promise<T> {
    try {
      return await action(await this.getTransport());
    } catch (error) {
      if (this.options.auth?.type !== 'oauth2' || (error as { code?: string }).code !== 'EAUTH') throw error;
      await this.close();
      return action(await this.getTransport(true));
    }
  }

  async close(): Promise<void> {
    const transport = this.transport;
    this.transport = null;
    (await transport?.catch(() => null))?.close();
  }

  /**
   * The replies in flight wait for the same transport: each making its own would open a pool per
   * reply, and the extra pools would stay open.
   */
  private getTransport(forceRefresh = false): Promise<Transporter> {
    if (this.transport) return this.transport;
    const created = this.createTransport(forceRefresh).catch((error: unknown) => {
      if (this.transport === created) this.transport = null; // a failed start (a token refused) is tried afresh by the next reply
      throw error;
    });
    this.transport = created;
    return created;
  }

  private async createTransport(forceRefresh: boolean): Promise<Transporter> {
    const { options } = this;
    let auth: object | undefined;
    if (options.auth?.type === 'password') auth = { user: options.auth.user, pass: options.auth.pass };
    if (options.auth?.type === 'oauth2') auth = { type: 'OAuth2', user: options.auth.user, accessToken: await options.auth.accessToken({ forceRefresh }) };
    const { default: nodemailer } = await import('nodemailer');
    return nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.secure,
      pool: true,
      // run-pass.ts hands replies over in groups of 4 once fewer than 4 are in flight; the pool queues the rest.
      maxConnections: 4,
      // Never let the pool resend on its own after a dropped connection: the server may already
      // have queued the reply. The worker decides (retry only when delivery certainly failed).
      maxRequeues: 0,
      auth,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      tls: { rejectUnauthorized: options.tlsRejectUnauthorized },
    } as TransportOptions);
  }
}

/** SMTP commands after which a failure means the message body was never handed over. */
const BEFORE_DATA = new Set(['EHLO', 'HELO', 'LHLO', 'STARTTLS', 'AUTH', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH XOAUTH2', 'MAIL FROM', 'RCPT TO', 'DATA']);

export function toSendError(error: unknown): SendError {
  const e = error as { responseCode?: number; response?: string; message?: string; code?: string; command?: string };
  const response = e.response ?? e.message ?? String(error);
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.code !== 'EAUTH') {
    return new SendError(`the SMTP server refused the reply: ${response}`, 'permanent', response, true);
  }
  // A 4xx answer is an explicit "not now" (RFC 5321 4.2.1): the server kept nothing.
  const refused = typeof e.responseCode === 'number' && e.responseCode >= 400;
  // 'CONN' also marks a connection lost after the data went out: only a failed connect is certain.
  const neverConnected = e.command === 'CONN' && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Greeting never received|connect ETIMEDOUT/i.test(response);
  const beforeData = neverConnected || (e.command !== undefined && BEFORE_DATA.has(e.command.toUpperCase()));
  return new SendError(`the reply could not be handed to the SMTP server: ${response}`, 'transient', response, refused || beforeData);
}

/**
 * Writes each reply as an .eml file into a folder instead of sending it: the demo's outbox and
 * offline policy trials. Written to a temporary name and renamed, so a file is never half there.
 */
export class OutboxSender implements ReplySender {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `outbox:${dir}`;
    mkdirSync(dir, { recursive: true });
  }

  async send(reply: RenderedReply): Promise<SendResult> {
    const raw = composeReply(reply, new Date());
    const name = reply.messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9._-]/g, '_');
    const file = join(this.dir, `${name}.eml`);
    writeFileSync(`${file}.tmp`, raw);
    renameSync(`${file}.tmp`, file);
    return { response: `written to ${file}` };
  }

  async close(): Promise<void> {}
}
