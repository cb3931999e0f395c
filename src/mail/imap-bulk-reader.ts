/**
 * A second, read-only IMAP connection for a pass's bulk reads: the header FETCH of every new message
 * and the source FETCH of the ones the header gates leave (issue 7). imapflow, which keeps the
 * control connection (SELECT, SEARCH, MOVE, folders), copies and re-serialises every response; on a
 * first run over an old inbox that was a third of the worker's time and half of what it allocated.
 * This reader does one thing: send `UID FETCH`, gather each response's text and literals (each
 * literal copied once, into a buffer of its exact size), and read the few data items asked for.
 *
 * It is deliberately small. Anything it does not expect (no implicit TLS, a name it cannot quote, a
 * refused login, a response it cannot read, a timeout) is an ImapBulkReaderError, and ImapSource
 * then does the same read through imapflow: a fetch is read-only (BODY.PEEK), so repeating it is
 * harmless. RFC 3501 is the reference for every rule below.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';

export interface ImapBulkReaderOptions {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** OAuth 2.0 access token: AUTHENTICATE XOAUTH2 with an initial response (RFC 4959). */
  accessToken?: string;
  tlsRejectUnauthorized: boolean;
  ca?: Buffer;
  /** Inactivity limit while a command is outstanding. */
  timeoutMs: number;
  /** Told the name of each IMAP command issued, as ImapSource's onCommand. */
  onCommand?: (command: string) => void;
}

export class ImapBulkReaderError extends Error {
  override readonly name = 'ImapBulkReaderError';
}

/** One FETCH response: its data items by lower-case name (`uid`, `rfc822.size`, `body[header]`...). */
export type FetchItems = Map<string, FetchValue>;
export type FetchValue = string | Buffer | null | FetchValue[];

/** A response as received: text segments (without CRLF), each literal between the two it splits. */
export type ResponseParts = Array<string | Buffer>;

/** A response line or literal larger than this is not a mailbox answer we asked for. */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_LITERAL_BYTES = 64 * 1024 * 1024;

interface Pending {
  tag: string;
  onUntagged: (parts: ResponseParts) => void;
  resolve: (text: string) => void;
  reject: (error: Error) => void;
}

export class ImapBulkReader {
  private readonly splitter = new ResponseSplitter();
  private pending: Pending | null = null;
  private greeting: Pending | null = null;
  private nextTag = 1;
  private failure: Error | null = null;
  private loggingOut = false;

  private constructor(
    private readonly socket: tls.TLSSocket,
    private readonly options: ImapBulkReaderOptions,
  ) {
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const parts of this.splitter.push(chunk)) this.dispatch(parts);
      } catch (error) {
        this.fail(error as Error);
      }
    });
    socket.on('error', (error) => this.fail(new ImapBulkReaderError(`connection failed: ${error.message}`)));
    socket.on('close', () => this.fail(new ImapBulkReaderError('the server closed the connection')));
    socket.on('timeout', () => this.fail(new ImapBulkReaderError(`no answer within ${options.timeoutMs} ms`)));
  }

  /** Connects over implicit TLS, reads the greeting and logs in. */
  static async open(options: ImapBulkReaderOptions): Promise<ImapBulkReader> {
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      rejectUnauthorized: options.tlsRejectUnauthorized,
      ...(options.ca ? { ca: options.ca } : {}),
      // SNI takes a host name only (RFC 6066 3).
      ...(isIP(options.host) ? {} : { servername: options.host }),
    });
    socket.setTimeout(options.timeoutMs);
    const reader = new ImapBulkReader(socket, options);
    try {
      const greeting = await reader.waitForGreeting();
      if (!/^PREAUTH\b/i.test(greeting)) await reader.login();
      return reader;
    } catch (error) {
      socket.destroy();
      throw error;
    }
  }

  /** EXAMINE (read-only: nothing this connection does can change a flag); returns the UIDVALIDITY. */
  async examine(mailbox: string): Promise<string> {
    let uidValidity: string | null = null;
    await this.command('EXAMINE', `EXAMINE ${quoted(mailbox, 'mailbox name')}`, (parts) => {
      const match = /^\* OK \[UIDVALIDITY (\d+)\]/i.exec(typeof parts[0] === 'string' ? parts[0] : '');
      if (match) uidValidity = match[1]!;
    });
    if (uidValidity === null) throw new ImapBulkReaderError('EXAMINE gave no UIDVALIDITY');
    return uidValidity;
  }

  /** `UID FETCH <set> (<items>)`: the data items of each message returned, in the server's order. */
  async fetch(uidSet: string, items: string): Promise<FetchItems[]> {
    const found: FetchItems[] = [];
    await this.command('UID FETCH', `UID FETCH ${uidSet} (${items})`, (parts) => {
      const head = typeof parts[0] === 'string' ? parts[0] : '';
      const match = /^\* \d+ FETCH \(/i.exec(head);
      if (!match) return;
      found.push(readFetchItems(parts, match[0].length - 1));
    });
    return found;
  }

  async close(): Promise<void> {
    if (!this.failure && !this.pending) {
      this.loggingOut = true;
      await this.command('LOGOUT', 'LOGOUT', () => undefined).catch(() => undefined);
    }
    this.socket.destroy();
  }

  private async login(): Promise<void> {
    const { user, password, accessToken } = this.options;
    if (accessToken !== undefined) {
      const initial = Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
      await this.command('AUTHENTICATE', `AUTHENTICATE XOAUTH2 ${initial}`, () => undefined);
    } else {
      await this.command('LOGIN', `LOGIN ${quoted(user, 'user name')} ${quoted(password ?? '', 'password')}`, () => undefined);
    }
  }

  private waitForGreeting(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.greeting = { tag: '*', onUntagged: () => undefined, resolve, reject };
    });
  }

  private command(name: string, line: string, onUntagged: (parts: ResponseParts) => void): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new ImapBulkReaderError('a command is already running'));
    const tag = `B${this.nextTag++}`;
    this.options.onCommand?.(name);
    return new Promise<string>((resolve, reject) => {
      this.pending = { tag, onUntagged, resolve, reject };
      this.socket.setTimeout(this.options.timeoutMs);
      this.socket.write(`${tag} ${line}\r\n`);
    });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = this.loggingOut ? new ImapBulkReaderError('logged out') : error;
    const waiting = this.pending ?? this.greeting;
    this.pending = null;
    this.greeting = null;
    if (this.loggingOut) waiting?.resolve('');
    else waiting?.reject(error);
    this.socket.destroy();
  }

  private dispatch(parts: ResponseParts): void {
    const text = parts[0] as string;
    if (this.greeting) {
      const greeting = this.greeting;
      this.greeting = null;
      const match = /^\* (OK|PREAUTH)\b ?(.*)$/i.exec(text);
      if (match) greeting.resolve(`${match[1]!.toUpperCase()} ${match[2]}`);
      else greeting.reject(new ImapBulkReaderError(`unexpected greeting: ${text.slice(0, 200)}`));
      return;
    }
    if (text.startsWith('* ')) {
      if (/^\* BYE\b/i.test(text) && !this.loggingOut) throw new ImapBulkReaderError(`the server ended the session: ${text.slice(0, 200)}`);
      this.pending?.onUntagged(parts);
      return;
    }
    const pending = this.pending;
    if (text.startsWith('+')) {
      // A continuation: the server wants more than the single-line command we sent (a login it
      // questions). Cancel it (RFC 4959 3); the tagged answer that follows refuses the command.
      this.socket.write('*\r\n');
      return;
    }
    const match = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(text);
    if (!pending || !match || match[1] !== pending.tag) throw new ImapBulkReaderError(`unexpected response: ${text.slice(0, 200)}`);
    this.pending = null;
    // Idle between commands: the control connection, not this one, is what must notice a dead server.
    this.socket.setTimeout(0);
    if (match[2]!.toUpperCase() === 'OK') pending.resolve(match[3]!);
    else pending.reject(new ImapBulkReaderError(`the server answered ${match[2]!.toUpperCase()}: ${match[3]!.slice(0, 200)}`));
  }
}

/**
 * Splits the bytes of a connection into responses: lines, and the literals announced by `{n}` at a
 * line's end (RFC 3501 4.3), however the bytes were cut into chunks.
 */
export class ResponseSplitter {
  private readonly lineChunks: Buffer[] = [];
  private lineBytes = 0;
  private parts: ResponseParts = [];
  private literal: { buffer: Buffer; filled: number } | null = null;

  push(chunk: Buffer): ResponseParts[] {
    const complete: ResponseParts[] = [];
    let position = 0;
    while (position < chunk.length) {
      const literal = this.literal;
      if (literal) {
        const take = Math.min(chunk.length - position, literal.buffer.length - literal.filled);
        chunk.copy(literal.buffer, literal.filled, position, position + take);
        literal.filled += take;
        position += take;
        if (literal.filled === literal.buffer.length) {
          this.parts.push(literal.buffer);
          this.literal = null;
        }
        continue;
      }
      const newline = chunk.indexOf(10, position);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.lineBytes += end - position;
      if (this.lineBytes > MAX_LINE_BYTES) throw new ImapBulkReaderError('a response line is too long');
      this.lineChunks.push(chunk.subarray(position, end));
      position = end;
      if (newline === -1) break;
      const line = (this.lineChunks.length === 1 ? this.lineChunks[0]! : Buffer.concat(this.lineChunks)).toString('latin1');
      this.lineChunks.length = 0;
      this.lineBytes = 0;
      const marker = /\{(\d+)\+?\}\r?\n$/.exec(line);
      if (marker) {
        const size = Number(marker[1]);
        if (size > MAX_LITERAL_BYTES) throw new ImapBulkReaderError(`a literal of ${size} bytes is too large`);
        this.parts.push(line.slice(0, marker.index));
        if (size === 0) this.parts.push(Buffer.alloc(0));
        else this.literal = { buffer: Buffer.allocUnsafe(size), filled: 0 };
        continue;
      }
      this.parts.push(line.replace(/\r?\n$/, ''));
      complete.push(this.parts);
      this.parts = [];
    }
    return complete;
  }
}

/** A quoted string (RFC 3501 4.3), or an error for what it cannot carry (then imapflow is used). */
function quoted(value: string, what: string): string {
  if (/[\r\n\0]|[^\x01-\x7f]/.test(value)) throw new ImapBulkReaderError(`the ${what} needs a literal or UTF-7, which this reader does not send`);
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The data items of one FETCH response, whose parenthesised list starts at `start` in its first
 * text part: name value pairs, values being atoms, numbers, quoted strings, NIL, literals or lists.
 */
export function readFetchItems(parts: ResponseParts, start: number): FetchItems {
  const cursor = new Cursor(parts, start);
  const list = cursor.value();
  if (!Array.isArray(list)) throw new ImapBulkReaderError('a FETCH response without its list');
  const items: FetchItems = new Map();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i];
    if (typeof name !== 'string') throw new ImapBulkReaderError('a FETCH data item without a name');
    items.set(name.toLowerCase(), list[i + 1]!);
  }
  return items;
}

class Cursor {
  private part = 0;
  private text: string;

  constructor(
    private readonly parts: ResponseParts,
    private position: number,
  ) {
    this.text = parts[0] as string;
  }

  value(): FetchValue {
    this.skipSpaces();
    if (this.position >= this.text.length) {
      const literal = this.parts[this.part + 1];
      if (!(literal instanceof Buffer)) throw new ImapBulkReaderError('a FETCH response ends early');
      this.part += 2;
      this.text = (this.parts[this.part] as string | undefined) ?? '';
      this.position = 0;
      return literal;
    }
    const char = this.text[this.position];
    if (char === '(') {
      this.position++;
      const list: FetchValue[] = [];
      for (;;) {
        this.skipSpaces();
        if (this.text[this.position] === ')') {
          this.position++;
          return list;
        }
        list.push(this.value());
      }
    }
    if (char === '"') return this.quotedString();
    const atom = this.atom();
    return atom.toUpperCase() === 'NIL' ? null : atom;
  }

  private skipSpaces(): void {
    while (this.text[this.position] === ' ') this.position++;
  }

  private quotedString(): string {
    const close = this.text.indexOf('"', this.position + 1);
    const plain = this.text.slice(this.position + 1, close);
    if (close !== -1 && !plain.includes('\\')) {
      this.position = close + 1;
      return plain;
    }
    let out = '';
    for (let i = this.position + 1; i < this.text.length; i++) {
      const char = this.text[i]!;
      if (char === '\\') {
        out += this.text[++i] ?? '';
      } else if (char === '"') {
        this.position = i + 1;
        return out;
      } else {
        out += char;
      }
    }
    throw new ImapBulkReaderError('a quoted string is not closed');
  }

  /** An atom; a section in brackets (`BODY[HEADER.FIELDS (A B)]`) may hold spaces and parentheses. */
  private atom(): string {
    const from = this.position;
    let depth = 0;
    for (; this.position < this.text.length; this.position++) {
      const char = this.text[this.position]!;
      if (char === '[') depth++;
      else if (char === ']') depth = Math.max(0, depth - 1);
      else if (depth === 0 && (char === ' ' || char === '(' || char === ')')) break;
    }
    if (this.position === from) throw new ImapBulkReaderError(`unexpected "${this.text[from] ?? 'end'}" in a FETCH response`);
    return this.text.slice(from, this.position);
  }
}
