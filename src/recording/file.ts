/**
 * A recording's file: appending to it while the session runs, then its hash and size, and
 * compression in place once it is closed.
 *
 * Compresses a closed recording in place: `<file>` → `<file>.gz`, written to a temporary name,
 * synced and renamed, then the original removed. A crash at any point leaves a readable recording
 * (the original, or both); readers accept either name (reader.ts `resolveRecording`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, writeSync } from 'node:fs';
import { open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * Appends lines to a recording with plain write(2) calls. The writers run on the recording thread
 * (thread.ts), never on the thread that relays keystrokes, and write a few hundred bytes per
 * session every 500 ms: a synchronous write costs a few microseconds there, where an asynchronous
 * one (a libuv thread-pool round trip, callbacks, stream bookkeeping) cost several times that and
 * was most of the recording's CPU at 100 sessions. A slow disk holds up the recording thread; the
 * relay sees the recording's bytes in flight grow and pauses the target (remote.ts `congested`).
 */
export class RecordingFile {
  private written = 0;
  private closing: Promise<void> | null = null;

  private constructor(private readonly fh: FileHandle) {}

  /** Creates `path` (it must not exist) with mode 0640. */
  static async create(path: string): Promise<RecordingFile> {
    return new RecordingFile(await open(path, 'wx', 0o640));
  }

  /** Bytes written so far: all of them are in the file (the OS's cache) when this returns. */
  get bytesWritten(): number {
    return this.written;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** Writes all of `text` (UTF-8) or throws the system's error (ENOSPC, EIO...). */
  write(text: string): void {
    if (this.closing !== null) throw new Error('the recording file is closed');
    const fd = this.fh.fd;
    const total = Buffer.byteLength(text, 'utf8');
    const n = writeSync(fd, text);
    if (n < total) {
      // A short write (rare on a regular file): the rest, as bytes.
      const bytes = Buffer.from(text, 'utf8');
      for (let off = n; off < total; ) off += writeSync(fd, bytes, off, total - off);
    }
    this.written += total;
  }

  close(): Promise<void> {
    this.closing ??= this.fh.close();
    return this.closing;
  }
}

export async function gzipFile(path: string): Promise<string> {
  const tmp = `${path}.gz.tmp`;
  try {
    await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(tmp, { flags: 'w', mode: 0o640 }));
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, `${path}.gz`);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await unlink(path);
  return `${path}.gz`;
}

/** SHA-256 and size of a file, streamed (recordings can be tens of MB). */
export function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    createReadStream(path)
      .on('data', (b) => {
        const buf = b as Buffer;
        bytes += buf.length;
        h.update(buf);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: h.digest('hex'), bytes }));
  });
}
