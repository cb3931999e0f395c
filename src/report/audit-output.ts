import { writeSync, writevSync } from 'node:fs';

/**
 * Writes an export's Buffers to a file descriptor, gathered (writev) until at least 64 KB: a table
 * range is about 35 KB, and a system call per few KB showed in system time. `push` answers false
 * once the reader has gone (EPIPE: `audit | head`), so that the caller stops building the rest of
 * the export for nobody.
 */
export class BatchedWriter {
  private batch: Buffer[] = [];
  private size = 0;
  private readerGone = false;

  constructor(private readonly fd: number) {}

  push(chunk: Buffer): boolean {
    if (this.readerGone) return false;
    this.batch.push(chunk);
    this.size += chunk.length;
    return this.size >= 1 << 16 ? this.flush() : true;
  }

  flush(): boolean {
    if (this.size && !this.readerGone) this.readerGone = !writeAll(this.fd, this.batch, this.size);
    this.batch = [];
    this.size = 0;
    return !this.readerGone;
  }
}

/** Writes every byte of `buffers` (`size` in all); false when the reader has closed the pipe. */
export function writeAll(fd: number, buffers: Buffer[], size = buffers.reduce((sum, b) => sum + b.length, 0)): boolean {
  let written = 0;
  while (written < size) {
    try {
      // After a short write, the rest goes as one buffer (rare: a pipe that took part of the batch).
      written += written === 0 ? writevSync(fd, buffers) : writeSync(fd, Buffer.concat(buffers).subarray(written));
    } catch (error) {
      // A pipe that is full right now (stdout set non-blocking by a parent): try again.
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return false;
      throw error;
    }
  }
  return true;
}
