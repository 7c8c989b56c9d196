/**
 * asciicast v2 writer (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then
 * one JSON array per event: [seconds, "o"|"i"|"r"|"m", data].
 *
 * Streaming and crash-safe: every event is one complete line; lines reach the OS within FLUSH_MS
 * (150 ms) of a writer used on its own, or at once when FLUSH_BYTES are waiting. In the broker the
 * recording thread writes each batch as it arrives, and a batch holds at most 500 ms of a session
 * (5 ms while it is watched; thread-port.ts), so a SIGKILL of the broker leaves a file that is
 * readable up to half a second before it; readers skip a torn last line. Batching is what keeps a
 * hundred interactive sessions cheap: one write per session per batch, not one per keystroke. The hot path only formats and queues
 * lines; the file's SHA-256 and size are computed once at close, from the file as it lies on disk
 * (what a verifier will hash later).
 *
 * Bounded: output beyond `maxOutputBytes`, and binary output (bytes that are not UTF-8, which
 * asciicast cannot hold), is not written; a marker records where recording stopped, and the marker
 * at close carries the count and SHA-256 of the bytes that were not recorded, so the recording plus
 * that hash still account for every byte the target sent.
 *
 * Private: output and input pass through the streaming redactor (redact.ts) unless `redact` is
 * off; keystrokes typed after a password prompt, up to Enter, are not recorded (privacy.ts); with
 * `gzip`, the closed file is compressed to `<name>.cast.gz` and the summary hashes that file.
 */
import { OffThreadHash } from './hash-worker.js';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { absNow } from './clock.js';
import { sampleText } from './sample.js';
import { gzipFile, hashFile, RecordingFile } from './file.js';

export { hashFile } from './file.js';
import { InputPrivacy } from './privacy.js';
import { redactText, StreamRedactor } from './redact.js';
import type { CastHeader, CastSummary, CastWriterOptions, UnrecordedTail, LiveHandoff, OutputFollower } from './cast-types.js';

export type { CastHeader, CastSummary, CastWriterOptions, UnrecordedTail, LiveHandoff, OutputFollower } from './cast-types.js';

export class CastWriter {
  private readonly out: RecordingFile;
  private readonly decoder = new StringDecoder('utf8');
  private readonly inDecoder = new StringDecoder('utf8');
  /** Absolute milliseconds (absNow): the same clock on every thread, so callers may pass arrival times. */
  private readonly startedAt = absNow();
  private outputBytes = 0;
  private unrecorded = 0;
  private unrecordedHash: OffThreadHash | null = null;
  /** Recording stopped and the caller hashes the rest (options.onStop). */
  private stoppedExternally = false;
  /** The start of a character the decoder holds for the next chunk: recorded with it, or counted as unrecorded. */
  private held: Buffer = EMPTY;
  private stopReason: string | null = null;
  private failed: Error | null = null;
  private closed = false;
  private readonly highWaterMark: number;
  private summary: Promise<CastSummary> | null = null;
  private closing: Promise<CastSummary> | null = null;
  private readonly redactor: StreamRedactor | null;
  private readonly inRedactor: StreamRedactor | null;
  private readonly privacy: InputPrivacy | null;
  /** asciicast times never go backwards, also when held-back text is released late. */
  private lastTime = 0;
  /** Lines not yet written to the file (see FLUSH_MS), and whether a flush is scheduled. */
  private pending = '';
  private dirty = false;
  private gzipped = false;
  /** The live view (one feed per session), or null: one check per output piece. */
  private follower: OutputFollower | null = null;
  private followDecoder: StringDecoder | undefined;
  private followRedactor: StreamRedactor | null | undefined;

  private constructor(
    out: RecordingFile,
    private readonly path: string,
    private readonly opts: CastWriterOptions,
  ) {
    this.out = out;
    this.highWaterMark = opts.highWaterMark ?? 4 * 1024 * 1024;
    const redact = opts.redact ?? true;
    this.redactor = redact ? new StreamRedactor() : null;
    this.inRedactor = redact && opts.input !== false ? new StreamRedactor() : null;
    this.privacy = opts.input === false ? null : new InputPrivacy();
  }

  static async open(path: string, header: CastHeader, opts: CastWriterOptions): Promise<CastWriter> {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    const w = new CastWriter(await RecordingFile.create(path), path, opts);
    w.line(JSON.stringify({ version: 2, ...header }) + '\n');
    return w;
  }

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

  /** Sets the one follower of this recording (the live view); returns how to stop following. */
  follow(f: OutputFollower): () => void {
    this.follower = f;
    return () => {
      if (this.follower === f) this.follower = null;
    };
  }

  /** The Recorder interface (remote.ts) for a writer on this thread: handoff and follow in one step. */
  watch(f: { output(text: string): void; resize(cols: number, rows: number): void }): { handoff: Promise<{ path: string; bytes: number }>; stop(): void } {
    let handoff: Promise<{ path: string; bytes: number }>;
    try {
      const h = this.liveHandoff();
      handoff = Promise.resolve({ path: h.path, bytes: h.bytes });
    } catch (err) {
      handoff = Promise.reject(err as Error);
    }
    return { handoff, stop: this.follow(f) };
  }

  /**
   * See LiveHandoff. Synchronous: call it between chunks, in the same tick as follow(). Throws
   * the write error of a recording that failed (its file does not hold what was recorded).
   */
  liveHandoff(): LiveHandoff {
    this.flush();
    if (this.failed) throw this.failed;
    return { path: this.path, bytes: this.out.bytesWritten, redactor: this.redactor?.clone() ?? null, partial: Buffer.from(this.held), stopped: this.stopReason !== null || this.closed };
  }

  /**
   * True while more than the high-water mark waits for the hashing thread. Nothing waits for the
   * disk here: lines are written synchronously (file.ts), so a slow disk shows as a slow writer.
   */
  get congested(): boolean {
    return this.unrecordedHash !== null && OffThreadHash.backlog > this.highWaterMark;
  }

  /** Calls `fn` once the queues have drained below the high-water mark. */
  onceDrained(fn: () => void): void {
    this.flush();
    if (!this.congested || this.failed) return fn();
    OffThreadHash.onceDrained(() => this.onceDrained(fn));
  }

  /**
   * Target output. `at` is the absNow() at which it reached the broker, when the caller records
   * it later than that (the recording thread gets it in a batch, thread-port.ts).
   */
  output(chunk: Buffer, at?: number): void {
    if (this.closed || this.failed) return;
    this.outputBytes += chunk.length;
    if (this.stopReason !== null) {
      this.skip(chunk);
      if (this.follower !== null) this.followOnly(chunk);
      return;
    }
    if (this.outputBytes > this.opts.maxOutputBytes) {
      this.stopRecording(`output recording stopped at the ${this.opts.maxOutputBytes}-byte cap; the stream continues unrecorded`, chunk);
      this.skip(this.takeHeld(chunk));
      if (this.follower !== null) this.followOnly(chunk);
      return;
    }
    const text = this.decoder.write(chunk);
    if (text.includes('\uFFFD') && !chunk.includes(REPLACEMENT_UTF8)) {
      this.stopRecording('binary output (not UTF-8): not recorded from here on', chunk);
      this.skip(this.takeHeld(chunk));
      if (this.follower !== null) this.followOnly(chunk);
      return;
    }
    const all = this.takeHeld(chunk);
    const tail = incompleteTail(all);
    this.held = tail === 0 ? EMPTY : Buffer.from(all.subarray(all.length - tail));
    if (text.length > 0) this.text('o', text, this.redactor, at);
  }

  input(chunk: Buffer, at?: number): void {
    if (this.closed || this.failed || this.privacy === null) return;
    const text = this.inDecoder.write(chunk);
    if (text.length === 0) return;
    const recorded = this.privacy.input(text);
    if (recorded.length > 0) this.text('i', recorded, this.inRedactor, at);
  }

  resize(cols: number, rows: number, at?: number): void {
    if (this.closed || this.failed) return;
    this.eventAt('r', `${cols}x${rows}`, this.at(at));
    this.follower?.resize(cols, rows);
  }

  /** A marker; its label is redacted like output (a command line can carry a secret). */
  marker(label: string, at?: number): void {
    if (this.closed || this.failed) return;
    this.eventAt('m', this.redactor === null ? label : redactText(label), this.at(at));
  }

  /**
   * Past the cap (or binary output) nothing more is written, but a live view following this
   * recording still sees the session: decoded and redacted here, for the follower only.
   */
  private followOnly(chunk: Buffer): void {
    this.followDecoder ??= new StringDecoder('utf8');
    if (this.followRedactor === undefined) this.followRedactor = this.redactor === null ? null : new StreamRedactor();
    const text = this.followDecoder.write(chunk);
    if (text.length === 0) return;
    if (this.followRedactor === null) return this.follower?.output(text);
    for (const p of this.followRedactor.push(text, 0)) this.follower?.output(p.text);
  }

  /** A screen sample during a flood (flood.ts); following byte by byte starts afresh after it. */
  followScreen(raw: Buffer, flooding: boolean): void {
    if (this.closed || this.follower?.screen === undefined) return;
    this.followDecoder = undefined;
    this.followRedactor = undefined;
    this.follower.screen(sampleText(raw, this.redactor !== null), flooding);
  }

  /** Writes the closing marker (if output was cut), flushes and closes. Idempotent. */
  close(tail?: UnrecordedTail): Promise<CastSummary> {
    this.closing ??= this.closeOnce(tail);
    return this.closing;
  }

  private async closeOnce(tail: UnrecordedTail | undefined): Promise<CastSummary> {
    if (!this.closed) {
      this.release(this.redactor, 'o');
      this.release(this.inRedactor, 'i');
      this.closed = true;
      if (this.stoppedExternally) {
        const t = tail ?? { bytes: this.unrecorded, sha256: 'unknown (the relay did not report it)' };
        this.event('m', `unrecorded output: ${t.bytes} bytes, sha256 ${t.sha256}`, true);
      } else if (this.held.length > 0 && this.unrecordedHash === null) {
        // Output ended inside a character: those bytes were never recorded either.
        this.unrecordedHash = new OffThreadHash();
        this.skip(this.takeHeld(EMPTY));
      }
      if (this.unrecordedHash !== null && !this.failed) {
        const sha = await this.unrecordedHash.digest();
        this.event('m', `unrecorded output: ${this.unrecorded} bytes, sha256 ${sha}`, true);
      }
      this.flush();
      await this.out.close().catch((err: unknown) => this.fail(err as Error));
    }
    if (this.failed) throw this.failed;
    this.summary ??= (async () => {
      if (this.opts.gzip === true) {
        // A recording that cannot be compressed stays as it is: complete, only larger.
        this.gzipped = await gzipFile(this.path).then(
          () => true,
          () => false,
        );
      }
      const h = await hashFile(this.file);
      return { ...h, truncated: this.unrecordedHash !== null || this.stoppedExternally };
    })();
    return this.summary;
  }

  /** `chunk` is the output chunk that made recording stop (it and what follows is not recorded). */
  private stopRecording(why: string, chunk: Buffer): void {
    this.release(this.redactor, 'o');
    this.stopReason = why;
    this.follower?.stopped?.();
    if (this.opts.onStop !== undefined) {
      this.stoppedExternally = true;
      this.opts.onStop(this.outputBytes - chunk.length - this.held.length);
    } else {
      this.unrecordedHash = new OffThreadHash();
    }
    this.event('m', why);
  }

  /** `chunk` preceded by the bytes the decoder held back; empties the hold. */
  private takeHeld(chunk: Buffer): Buffer {
    const all = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = EMPTY;
    return all;
  }

  private skip(chunk: Buffer): void {
    this.unrecorded += chunk.length;
    this.unrecordedHash?.update(chunk);
  }

  private event(code: 'o' | 'i' | 'r' | 'm', data: string, force = false): void {
    if (this.closed && !force) return;
    this.eventAt(code, data, this.now());
  }

  private now(): number {
    return (absNow() - this.startedAt) / 1000;
  }

  private at(t: number | undefined): number {
    return t === undefined ? this.now() : (t - this.startedAt) / 1000;
  }

  private eventAt(code: 'o' | 'i' | 'r' | 'm', data: string, time: number): void {
    const t = time > this.lastTime ? time : this.lastTime;
    this.lastTime = t;
    this.line(`[${t.toFixed(6)}, "${code}", ${JSON.stringify(data)}]\n`);
  }

  /** Output or input text, through its redactor: held-back pieces keep the time they arrived. */
  private text(code: 'o' | 'i', text: string, redactor: StreamRedactor | null, at?: number): void {
    const t = this.at(at);
    const follower = code === 'o' ? this.follower : null;
    if (code === 'o') this.privacy?.output(text);
    if (redactor === null) {
      this.eventAt(code, text, t);
      follower?.output(text);
      return;
    }
    const pieces = redactor.push(text, t);
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k] as { time: number; text: string };
      this.eventAt(code, p.text, p.time);
      follower?.output(p.text);
    }
  }

  /** Writes what a redactor still holds (before a stop or the close). */
  private release(redactor: StreamRedactor | null, code: 'o' | 'i'): void {
    if (redactor === null || this.closed || this.failed) return;
    for (const p of redactor.flush()) {
      this.eventAt(code, p.text, p.time);
      if (code === 'o') this.follower?.output(p.text);
    }
  }

  private line(text: string): void {
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

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.opts.onError(err);
  }
}

const REPLACEMENT_UTF8 = Buffer.from('\uFFFD', 'utf8');
const EMPTY = Buffer.alloc(0);

/** Lines wait at most this long in memory before they are written... */
const FLUSH_MS = 150;
/** ...or until this much is waiting. */
const FLUSH_BYTES = 16 * 1024;

/** One timer for every writer with lines waiting. */
const waiting = new Set<CastWriter>();
let flushTimer: NodeJS.Timeout | null = null;
function scheduleFlush(w: CastWriter): void {
  waiting.add(w);
  flushTimer ??= setTimeout(() => {
    flushTimer = null;
    const all = [...waiting];
    waiting.clear();
    for (const x of all) x.flush();
  }, FLUSH_MS).unref();
}

/** How many trailing bytes of `buf` start a UTF-8 character that is not complete yet (0-3). */
function incompleteTail(buf: Buffer): number {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const b = buf[buf.length - i] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}
