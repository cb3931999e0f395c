import { readFileSync } from 'node:fs';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { ImapBulkReader, type FetchItems } from './imap-bulk-reader.js';
import { packUidSet, type HeaderItem, type MailboxState, type MailSource } from './mail-source.js';

export interface ImapSourceOptions {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  /** Password login, or an OAuth 2.0 access token getter (XOAUTH2/OAUTHBEARER). */
  password?: string;
  accessToken?: (options?: { forceRefresh?: boolean }) => Promise<string>;
  mailbox: string;
  tlsRejectUnauthorized: boolean;
  tlsCaFile?: string;
  timeoutMs: number;
  /** Told the name of each IMAP command issued (SELECT, UID FETCH...), for the idle-pass benchmark. */
  onCommand?: (command: string) => void;
  /**
   * Read headers and sources over a second, read-only connection (imap-bulk-reader.ts) instead of
   * through imapflow. Default true; only with implicit TLS (IMAP_SECURE=true).
   */
  bulkReads?: boolean;
  /** Told why the bulk reads fell back to imapflow (once per pass); the pass logs it. */
  onNotice?: (message: string) => void;
}

/** Stable error codes a pass reports, in the manner of imapflow's and nodemailer's own. */
export class MailSourceError extends Error {
  constructor(
    message: string,
    readonly code: 'EAUTH' | 'ENOMAILBOX' | 'ECONNECTION' | 'ETIMEOUT' | 'EMOVE',
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'MailSourceError';
  }
}

/** A bounded number of UIDs per command keeps each response and each command line small. */
const FETCH_CHUNK = 500;

export class ImapSource implements MailSource {
  readonly description: string;
  private client: ImapFlow | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private stepsInFlight = 0;
  private readonly createdFolders = new Set<string>();
  private uidValidity: string | null = null;
  /** The bulk-read connection: opened on the first fetch, null once it has failed or is not to be used. */
  private bulk: Promise<ImapBulkReader | null> | null = null;
  private bulkProblem: string | null = null;

  constructor(private readonly options: ImapSourceOptions) {
    this.description = `imap://${options.user}@${options.host}:${options.port}/${options.mailbox}`;
  }

  async open(): Promise<MailboxState> {
    let client: ImapFlow;
    try {
      client = await this.connect(false);
    } catch (error) {
      // A refused access token may have been revoked or expired early: renew it once and retry.
      if (!(error instanceof MailSourceError && error.code === 'EAUTH' && this.options.accessToken)) throw error;
      try {
        client = await this.connect(true);
      } catch (again) {
        if (!(again instanceof MailSourceError && again.code === 'EAUTH')) throw again;
        throw new MailSourceError(
          `the IMAP server refused the OAuth access token for ${this.options.user}, twice (check IMAP_USER is the shared mailbox, and that the app registration AZURE_CLIENT_ID has IMAP access and FullAccess on that mailbox; see docs/nhsmail.md)`,
          'EAUTH',
          again.cause,
        );
      }
    }
    this.client = client;
    this.startKeepAlive(client);
    return this.openMailbox(client);
  }

  /**
   * The inactivity timeout (IMAP_TIMEOUT_MS) must catch a server that stops answering, not a pass
   * that is busy parsing or sending between two IMAP steps: while no step is running, a NOOP now and
   * then keeps the connection alive (RFC 3501 6.1.2).
   */
  private startKeepAlive(client: ImapFlow): void {
    const every = Math.max(500, Math.floor(this.options.timeoutMs / 3));
    this.keepAlive = setInterval(() => {
      if (this.stepsInFlight === 0 && client.usable) client.noop().catch(() => undefined);
    }, every);
    this.keepAlive.unref();
  }

  private async connect(forceRefresh: boolean): Promise<ImapFlow> {
    const { options } = this;
    const auth = options.accessToken
      ? { user: options.user, accessToken: await options.accessToken({ forceRefresh }) }
      : { user: options.user, pass: options.password ?? '' };
    const config: ImapFlowOptions = {
      host: options.host,
      port: options.port,
      secure: options.secure,
      auth,
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      tls: {
        rejectUnauthorized: options.tlsRejectUnauthorized,
        ...(options.tlsCaFile ? { ca: readFileSync(options.tlsCaFile) } : {}),
      },
    } as ImapFlowOptions;
    const client = new ImapFlow(config);
    // Without a listener an 'error' event after connect would crash the process.
    client.on('error', () => undefined);
    if (options.onCommand) {
      const original = (client as unknown as { exec: (...args: unknown[]) => Promise<unknown> }).exec.bind(client);
      (client as unknown as { exec: unknown }).exec = (...args: unknown[]) => {
        options.onCommand!(String(args[0]));
        return original(...args);
      };
    }
    try {
      await client.connect();
    } catch (error) {
      throw classifyConnectError(error, this.description);
    }
    return client;
  }

  private async openMailbox(client: ImapFlow): Promise<MailboxState> {
    const { options } = this;
    let box;
    try {
      box = await client.mailboxOpen(options.mailbox);
    } catch (error) {
      throw new MailSourceError(`the mailbox "${options.mailbox}" cannot be opened (check IMAP_MAILBOX): ${describe(error)}`, 'ENOMAILBOX', error);
    }
    this.uidValidity = String(box.uidValidity);
    return { uidValidity: this.uidValidity, highestUid: Number(box.uidNext) - 1, exists: box.exists };
  }

  /** What the server offers (MOVE, UIDPLUS, IDLE...), upper case; for `doctor`. */
  capabilities(): string[] {
    return [...this.requireClient().capabilities.keys()].map((name) => name.toUpperCase());
  }

  /** Every folder path of the mailbox; for `doctor`. */
  async listFolders(): Promise<string[]> {
    return (await this.requireClient().list()).map((box) => box.path);
  }

  /** The folder the server marks \Sent (RFC 6154), or null; for `doctor` and sentCopies(). */
  async sentFolder(): Promise<string | null> {
    // Exchange marks "Sent Items" so, as Dovecot marks its Sent folder.
    return (await this.requireClient().list()).find((box) => box.specialUse === '\\Sent')?.path ?? null;
  }

  /** Creates a folder unless it exists (the worker does this before its first move); for `doctor --fix`. */
  async createFolder(folder: string): Promise<void> {
    await this.ensureFolder(folder);
  }

  /** Why passes would read through imapflow rather than the second connection, or null when it opens; for `doctor`. */
  async secondConnectionProblem(): Promise<string | null> {
    const notUsed = this.bulkNotUsed();
    if (notUsed) return notUsed;
    return (await this.bulkReader()) ? null : (this.bulkProblem ?? 'it could not be opened');
  }

  /** Why the bulk-read connection is not even tried, or null. */
  private bulkNotUsed(): string | null {
    if (this.options.bulkReads === false) return 'IMAP_SECOND_CONNECTION is false';
    if (!this.options.secure) return 'it needs IMAP_SECURE=true (TLS from the start)';
    if (!this.uidValidity) return `the mailbox ${this.options.mailbox} could not be opened`;
    return null;
  }

  /** Opens the bulk-read connection now, alongside the listing of new messages; a failure shows at the first read. */
  prepareReads(): void {
    void this.bulkReader();
  }

  async listUids(afterUid: number): Promise<number[]> {
    return this.guard('listing new messages', () => this.searchUids(afterUid));
  }

  private async searchUids(afterUid: number): Promise<number[]> {
    const client = this.requireClient();
    if (client.mailbox && typeof client.mailbox === 'object' && client.mailbox.exists === 0) return [];
    const uids = (await client.search({ uid: `${afterUid + 1}:*` }, { uid: true })) || [];
    // `N:*` matches the last message even when its UID is below N (RFC 3501 6.4.8), so filter.
    return uids.filter((uid) => uid > afterUid).sort((a, b) => a - b);
  }

  async headers(uids: readonly number[]): Promise<HeaderItem[]> {
    return this.guard('fetching headers', () => this.fetchHeaders(uids));
  }

  private async fetchHeaders(uids: readonly number[]): Promise<HeaderItem[]> {
    const bulk = await this.bulkRead('UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER]', uids, (fetched) => {
      const items: HeaderItem[] = [];
      for (const item of fetched) {
        const uid = uintItem(item, 'uid');
        if (uid === null) continue;
        const internalDate = item.get('internaldate');
        items.push({ uid, header: bufferItem(item, 'body[header]') ?? Buffer.alloc(0), size: uintItem(item, 'rfc822.size') ?? 0, internalDate: typeof internalDate === 'string' ? new Date(internalDate) : null });
      }
      return items;
    });
    // The bulk connection's view of the mailbox may lag the control connection's (a message that came
    // after its EXAMINE is unknown to it, and RFC 3501 6.4.8 ignores an unknown UID silently): what it
    // did not return is asked again here, so it is not mistaken for a message deleted meanwhile.
    const missing = bulk ? notReturned(uids, bulk.map((item) => item.uid)) : uids;
    const items = [...(bulk ?? []), ...(missing.length ? await this.fetchHeadersThroughImapflow(missing) : [])];
    return items.sort((a, b) => a.uid - b.uid);
  }

  private async fetchHeadersThroughImapflow(uids: readonly number[]): Promise<HeaderItem[]> {
    const client = this.requireClient();
    const items: HeaderItem[] = [];
    for (let i = 0; i < uids.length; i += FETCH_CHUNK) {
      const range = packUidSet(uids.slice(i, i + FETCH_CHUNK));
      for await (const message of client.fetch(range, { uid: true, size: true, internalDate: true, headers: true }, { uid: true })) {
        items.push({
          uid: message.uid,
          header: message.headers ?? Buffer.alloc(0),
          size: message.size ?? 0,
          internalDate: message.internalDate ? new Date(message.internalDate) : null,
        });
      }
    }
    this.assertStillConnected(client);
    return items;
  }

  async sources(uids: readonly number[], maxBytes: number): Promise<Map<number, { source: Buffer; truncated: boolean }>> {
    return this.guard('fetching messages', () => this.fetchSources(uids, maxBytes));
  }

  private async fetchSources(uids: readonly number[], maxBytes: number): Promise<Map<number, { source: Buffer; truncated: boolean }>> {
    const bulk = await this.bulkRead(`UID RFC822.SIZE BODY.PEEK[]<0.${maxBytes}>`, uids, (fetched) => {
      const result = new Map<number, { source: Buffer; truncated: boolean }>();
      for (const item of fetched) {
        const uid = uintItem(item, 'uid');
        const source = bufferItem(item, 'body[]<0>') ?? bufferItem(item, 'body[]');
        if (uid === null || !source) continue;
        result.set(uid, { source, truncated: (uintItem(item, 'rfc822.size') ?? 0) > maxBytes });
      }
      return result;
    });
    // As for headers: what the bulk connection did not return is asked again here.
    const missing = bulk ? notReturned(uids, bulk.keys()) : uids;
    if (missing.length === 0) return bulk!;
    const result = bulk ?? new Map<number, { source: Buffer; truncated: boolean }>();
    const client = this.requireClient();
    for (let i = 0; i < missing.length; i += FETCH_CHUNK) {
      const range = packUidSet(missing.slice(i, i + FETCH_CHUNK));
      // A partial fetch caps what a huge message can cost before it is even parsed.
      for await (const message of client.fetch(range, { uid: true, size: true, source: { start: 0, maxLength: maxBytes } }, { uid: true })) {
        if (!message.source) continue;
        result.set(message.uid, { source: message.source, truncated: (message.size ?? 0) > maxBytes });
      }
    }
    this.assertStillConnected(client);
    return result;
  }

  /**
   * One read over the bulk connection, in chunks of FETCH_CHUNK UIDs; null when that connection is not
   * to be used or has failed (the caller then reads through imapflow: a BODY.PEEK fetch changes nothing,
   * so reading again is harmless).
   */
  private async bulkRead<T>(items: string, uids: readonly number[], read: (fetched: FetchItems[]) => T): Promise<T | null> {
    const reader = await this.bulkReader();
    if (!reader) return null;
    try {
      const fetched: FetchItems[] = [];
      for (let i = 0; i < uids.length; i += FETCH_CHUNK) fetched.push(...(await reader.fetch(packUidSet(uids.slice(i, i + FETCH_CHUNK)), items)));
      return read(fetched);
    } catch (error) {
      this.dropBulk(`a fetch failed (${describe(error)})`);
      return null;
    }
  }

  private bulkReader(): Promise<ImapBulkReader | null> {
    const { options } = this;
    if (this.bulk) return this.bulk;
    if (this.bulkNotUsed() || !this.uidValidity) return Promise.resolve(null);
    const expected = this.uidValidity;
    this.bulk = (async () => {
      let reader: ImapBulkReader | null = null;
      try {
        reader = await ImapBulkReader.open({
          host: options.host,
          port: options.port,
          user: options.user,
          password: options.password,
          accessToken: options.accessToken ? await options.accessToken() : undefined,
          tlsRejectUnauthorized: options.tlsRejectUnauthorized,
          ...(options.tlsCaFile ? { ca: readFileSync(options.tlsCaFile) } : {}),
          timeoutMs: options.timeoutMs,
          onCommand: options.onCommand,
        });
        const uidValidity = await reader.examine(options.mailbox);
        // Another mailbox under the same name (recreated since SELECT): its UIDs are not ours.
        if (uidValidity !== expected) throw new Error(`UIDVALIDITY ${uidValidity}, not ${expected}`);
        return reader;
      } catch (error) {
        await reader?.close();
        this.bulkProblem = `the second connection could not be used (${describe(error)})`;
        options.onNotice?.(`reading messages through imapflow: ${this.bulkProblem}`);
        return null;
      }
    })();
    return this.bulk;
  }

  private dropBulk(why: string): void {
    const previous = this.bulk;
    this.bulk = Promise.resolve(null);
    void previous?.then((reader) => reader?.close());
    this.options.onNotice?.(`reading messages through imapflow from now on: ${why}`);
  }

  async move(uids: readonly number[], folder: string): Promise<void> {
    if (uids.length === 0) return;
    await this.guard(`moving messages to ${folder}`, () => this.moveUids(uids, folder));
  }

  private async moveUids(uids: readonly number[], folder: string): Promise<void> {
    const client = this.requireClient();
    await this.ensureFolder(folder);
    for (let i = 0; i < uids.length; i += FETCH_CHUNK) {
      const moved = await client.messageMove(packUidSet(uids.slice(i, i + FETCH_CHUNK)), folder, { uid: true });
      // imapflow returns false instead of throwing when the server refuses the command.
      if (moved === false) throw new MailSourceError(`the server refused to move messages to ${folder}`, 'EMOVE');
    }
  }

  async moveByMessageId(folder: string, messageIds: readonly string[], to: string): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    return this.guard(`moving decided messages from ${folder} to ${to}`, () => this.moveFound(folder, messageIds, to));
  }

  private async moveFound(folder: string, messageIds: readonly string[], to: string): Promise<Set<string>> {
    const client = this.requireClient();
    if (!(await client.list()).some((box) => box.path === folder)) return new Set();
    await client.mailboxOpen(folder);
    const found = await this.findByMessageId(client, folder, messageIds);
    const uids = [...found.values()].flat().map((copy) => copy.uid);
    if (uids.length) await this.moveUids(uids, to);
    return new Set(found.keys());
  }

  async sentCopies(messageIds: readonly string[]): Promise<Map<string, Date | null>> {
    if (messageIds.length === 0) return new Map();
    return this.guard('looking in the Sent folder for replies whose delivery was not confirmed', () => this.findSentCopies(messageIds));
  }

  private async findSentCopies(messageIds: readonly string[]): Promise<Map<string, Date | null>> {
    const client = this.requireClient();
    const sent = await this.sentFolder();
    if (!sent) return new Map();
    await client.mailboxOpen(sent, { readOnly: true });
    const found = await this.findByMessageId(client, sent, messageIds);
    return new Map([...found].map(([messageId, copies]) => [messageId, copies[0]!.savedAt]));
  }

  /** The messages of the open folder with exactly these Message-IDs, each copy's UID and INTERNALDATE, in UID order. */
  private async findByMessageId(client: ImapFlow, folder: string, messageIds: readonly string[]): Promise<Map<string, Array<{ uid: number; savedAt: Date | null }>>> {
    const found = new Map<string, Array<{ uid: number; savedAt: Date | null }>>();
    for (const messageId of messageIds) {
      const hits = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      if (hits === false || hits === undefined) throw new MailSourceError(`the server refused to search ${folder}`, 'ECONNECTION');
      if (hits.length === 0) continue;
      // SEARCH HEADER matches a substring: only an exact Message-ID counts.
      for await (const message of client.fetch(packUidSet(hits), { uid: true, envelope: true, internalDate: true }, { uid: true })) {
        if (message.envelope?.messageId !== messageId) continue;
        const savedAt = message.internalDate ? new Date(message.internalDate) : null;
        found.set(messageId, [...(found.get(messageId) ?? []), { uid: message.uid, savedAt: savedAt && !Number.isNaN(savedAt.getTime()) ? savedAt : null }]);
      }
    }
    this.assertStillConnected(client);
    return found;
  }

  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
    const bulk = this.bulk;
    this.bulk = null;
    await bulk?.then((reader) => reader?.close());
    const client = this.client;
    this.client = null;
    if (!client) return;
    try {
      await client.logout();
    } catch {
      client.close();
    }
  }

  private async ensureFolder(folder: string): Promise<void> {
    if (this.createdFolders.has(folder)) return;
    const client = this.requireClient();
    const existing = await client.list();
    if (!existing.some((box) => box.path === folder)) {
      try {
        await client.mailboxCreate(folder);
      } catch (error) {
        // Another client may have created it between LIST and CREATE.
        const again = await client.list();
        if (!again.some((box) => box.path === folder)) throw new MailSourceError(`cannot create folder ${folder}: ${describe(error)}`, 'EMOVE', error);
      }
    }
    this.createdFolders.add(folder);
  }

  /**
   * imapflow ends a fetch quietly when the connection drops mid-way: a short answer would look like
   * messages deleted by staff, and the cursor would skip them. A lost connection must fail the pass.
   */
  private assertStillConnected(client: ImapFlow): void {
    if (!client.usable) throw new MailSourceError('the IMAP connection was lost during the pass', 'ECONNECTION');
  }

  /** Every failure of an IMAP step leaves as a MailSourceError, so the pass ends with a clear message. */
  private async guard<T>(what: string, step: () => Promise<T>): Promise<T> {
    this.stepsInFlight++;
    try {
      return await step();
    } catch (error) {
      if (error instanceof MailSourceError) throw error;
      const e = error as { code?: string; message?: string };
      const timedOut = e.code === 'ETIMEOUT' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '');
      throw new MailSourceError(
        timedOut
          ? `the IMAP server stopped answering while ${what} (check the connection, or raise IMAP_TIMEOUT_MS)`
          : `the IMAP connection failed while ${what}: ${describe(error)}`,
        timedOut ? 'ETIMEOUT' : 'ECONNECTION',
        error,
      );
    } finally {
      this.stepsInFlight--;
    }
  }

  private requireClient(): ImapFlow {
    if (!this.client) throw new MailSourceError('the IMAP connection is not open', 'ECONNECTION');
    return this.client;
  }
}

function classifyConnectError(error: unknown, where: string): MailSourceError {
  const e = error as { authenticationFailed?: boolean; code?: string; message?: string; responseText?: string };
  if (e.authenticationFailed || /auth/i.test(e.responseText ?? '')) {
    return new MailSourceError(`the IMAP server refused the login for ${where} (check IMAP_USER and IMAP_PASSWORD, or the OAuth settings)`, 'EAUTH', error);
  }
  if (e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) {
    return new MailSourceError(`the IMAP server at ${where} did not answer in time (check IMAP_HOST and IMAP_PORT)`, 'ETIMEOUT', error);
  }
  return new MailSourceError(`cannot connect to the IMAP server at ${where} (check IMAP_HOST, IMAP_PORT and IMAP_SECURE): ${describe(error)}`, 'ECONNECTION', error);
}

function notReturned(asked: readonly number[], returned: Iterable<number>): number[] {
  const got = new Set(returned);
  return asked.filter((uid) => !got.has(uid));
}

function uintItem(item: FetchItems, name: string): number | null {
  const value = item.get(name);
  return typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : null;
}

/** A literal, or a quoted string read as bytes (a server may send a short value either way). */
function bufferItem(item: FetchItems, name: string): Buffer | null {
  const value = item.get(name);
  if (value instanceof Buffer) return value;
  return typeof value === 'string' ? Buffer.from(value, 'latin1') : null;
}

function describe(error: unknown): string {
  const e = error as { responseText?: string; message?: string; code?: string };
  return e.responseText || e.message || e.code || String(error);
}
