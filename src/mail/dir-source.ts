import { readdirSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { HeaderItem, MailboxState, MailSource } from './mail-source.js';

/**
 * A folder of .eml files read as a mailbox: the demo's sample inbox, or mail exported from the
 * shared inbox to try a policy offline. UIDs are positions in the sorted file list; nothing is moved.
 */
export class DirSource implements MailSource {
  readonly description: string;
  private files: string[] = [];

  constructor(private readonly dir: string) {
    this.description = `dir:${dir}`;
  }

  async open(): Promise<MailboxState> {
    this.files = listEml(this.dir).sort();
    return { uidValidity: 'dir', highestUid: this.files.length, exists: this.files.length };
  }

  async listUids(afterUid: number): Promise<number[]> {
    return this.files.map((_, index) => index + 1).filter((uid) => uid > afterUid);
  }

  async headers(uids: readonly number[]): Promise<HeaderItem[]> {
    return uids.map((uid) => {
      const file = this.fileFor(uid);
      const stat = statSync(file);
      return { uid, header: readHeaderBlock(file), size: stat.size, internalDate: stat.mtime };
    });
  }

  async sources(uids: readonly number[], maxBytes: number): Promise<Map<number, { source: Buffer; truncated: boolean }>> {
    const result = new Map<number, { source: Buffer; truncated: boolean }>();
    for (const uid of uids) {
      const file = this.fileFor(uid);
      const size = statSync(file).size;
      result.set(uid, { source: readPrefix(file, maxBytes), truncated: size > maxBytes });
    }
    return result;
  }

  async move(): Promise<void> {
    // Files of an exported inbox are left as they are.
  }

  async close(): Promise<void> {}

  /** The file behind a UID, relative to the folder, for messages. */
  fileName(uid: number): string {
    return relative(this.dir, this.fileFor(uid));
  }

  private fileFor(uid: number): string {
    const file = this.files[uid - 1];
    if (!file) throw new Error(`no message ${uid} in ${this.dir}`);
    return file;
  }
}

function listEml(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listEml(path));
    else if (entry.name.toLowerCase().endsWith('.eml')) found.push(path);
  }
  return found;
}

function readPrefix(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(maxBytes, statSync(file).size));
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The header block: everything up to the first empty line (CRLF or LF-only files). */
function readHeaderBlock(file: string): Buffer {
  const head = readPrefix(file, 256 * 1024);
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  const end = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((n) => n >= 0);
  return end.length ? head.subarray(0, Math.min(...end)) : head;
}
