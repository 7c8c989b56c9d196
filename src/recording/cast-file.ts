/**
 * The file side of the asciicast writer (writer.ts decides what is recorded: decoding, the cap,
 * redaction, privacy, the live follower). Here: timed events as JSON lines, batched in memory and
 * written to the recording's file (file.ts), the first write error, after which nothing more is
 * written, and at the end the file compressed and hashed as it lies on disk.
 *
 * Streaming and crash-safe: every event is one complete line; lines reach the OS within FLUSH_MS
 * (150 ms) of a writer used on its own, or at once when FLUSH_BYTES are waiting. In the broker the
 * recording thread writes each batch as it arrives, and a batch holds at most 500 ms of a session
 * (5 ms while it is watched; thread-port.ts), so a SIGKILL of the broker leaves a file that is
 * readable up to half a second before it; readers skip a torn last line. Batching is what keeps a
 * hundred interactive sessions cheap: one write per session per batch, not one per keystroke.
 *
 * A base class of CastWriter rather than a member, so that an event on the output hot path reaches
 * the file without one more hop.
 */
import { absNow } from './clock.js';
import type { CastWriterOptions } from './cast-types.js';
import { gzipFile, hashFile, type RecordingFile } from './file.js';

export abstract class CastFile {
  /** Absolute milliseconds (absNow): the same clock on every thread, so callers may pass arrival times. */
  private readonly startedAt = absNow();
  protected failed: Error | null = null;
  /** asciicast times never go backwards, also when held-back text is released late. */
  private lastTime = 0;
  /** Lines not yet written to the file (see FLUSH_MS), and whether a flush is scheduled. */
  private pending = '';
  private dirty = false;
  private gzipped = false;

  protected constructor(
    protected readonly out: RecordingFile,
    protected readonly path: string,
    protected readonly opts: CastWriterOptions,
  ) {}

  get error(): Error | null {
    return this.failed;
  }

  /** The file as it lies on disk: `<name>.cast`, or `<name>.cast.gz` once closed with gzip. */
  get file(): string {
    return this.gzipped ? `${this.path}.gz` : this.path;
  }

  get isGzipped(): boolean {
    return this.gzipped;
  }

  /** After the file is closed: compresses it (with `gzip`), then hashes what lies on disk. */
  protected async finish(): Promise<{ sha256: string; bytes: number }> {
    if (this.opts.gzip === true) {
      // A recording that cannot be compressed stays as it is: complete, only larger.
      this.gzipped = await gzipFile(this.path).then(
        () => true,
        () => false,
      );
    }
    return hashFile(this.file);
  }

  protected now(): number {
    return (absNow() - this.startedAt) / 1000;
  }

  protected at(t: number | undefined): number {
    return t === undefined ? this.now() : (t - this.startedAt) / 1000;
  }

  protected eventAt(code: 'o' | 'i' | 'r' | 'm', data: string, time: number): void {
    const t = time > this.lastTime ? time : this.lastTime;
    this.lastTime = t;
    this.line(`[${t.toFixed(6)}, "${code}", ${JSON.stringify(data)}]\n`);
  }

  protected line(text: string): void {
    if (text.length >= FLUSH_BYTES && this.pending.length === 0) {
      this.write(text); // a big line goes out as it is, without a copy into `pending`
      return;
    }
    this.pending += text;
    if (this.pending.length >= FLUSH_BYTES) this.flush();
    else if (!this.dirty) {
      this.dirty = true;
      scheduleFlush(this);
    }
  }

  /** Writes the lines waiting in memory to the file (the recording thread calls it after each batch). */
  flush(): void {
    if (this.dirty) {
      this.dirty = false;
      waiting.delete(this); // flushed already: the shared timer need not come back to it
    }
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  }

  private write(text: string): void {
    if (this.failed || this.out.closed) return;
    try {
      this.out.write(text);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  protected fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.opts.onError(err);
  }
}

/** Lines wait at most this long in memory before they are written... */
const FLUSH_MS = 150;
/** ...or until this much is waiting. */
const FLUSH_BYTES = 16 * 1024;

/** One timer for every writer with lines waiting. */
const waiting = new Set<CastFile>();
let flushTimer: NodeJS.Timeout | null = null;
function scheduleFlush(w: CastFile): void {
  waiting.add(w);
  flushTimer ??= setTimeout(() => {
    flushTimer = null;
    const all = [...waiting];
    waiting.clear();
    for (const x of all) x.flush();
  }, FLUSH_MS).unref();
}
