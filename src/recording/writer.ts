/**
 * asciicast v2 writer (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then
 * one JSON array per event: [seconds, "o"|"i"|"r"|"m", data].
 *
 * Streaming and crash-safe: every event is one complete line, and lines reach the file in small
 * batches (cast-file.ts says when, and what a SIGKILL of the broker leaves). The hot path only
 * formats and queues lines; the file's SHA-256 and size are computed once at close, from the file
 * as it lies on disk (what a verifier will hash later).
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
import { CastFile } from './cast-file.js';
import { sampleText } from './sample.js';
import { RecordingFile } from './file.js';
import { InputPrivacy } from './privacy.js';
import { redactText, StreamRedactor } from './redact.js';
import type { CastHeader, CastSummary, CastWriterOptions, UnrecordedTail, LiveHandoff, OutputFollower } from './cast-types.js';
import { incompleteTail } from '../domain/utf8.js';
import { EMPTY, REPLACEMENT_UTF8 } from './utf8.js';

export { hashFile } from './file.js';
export type { CastHeader, CastSummary, CastWriterOptions, UnrecordedTail, LiveHandoff, OutputFollower } from './cast-types.js';

export class CastWriter extends CastFile {
  private readonly decoder = new StringDecoder('utf8');
  private readonly inDecoder = new StringDecoder('utf8');
  private outputBytes = 0;
  private unrecorded = 0;
  private unrecordedHash: OffThreadHash | null = null;
  /** Recording stopped and the caller hashes the rest (options.onStop). */
  private stoppedExternally = false;
  /** The start of a character the decoder holds for the next chunk: recorded with it, or counted as unrecorded. */
  private held: Buffer = EMPTY;
  private stopReason: string | null = null;
  private closed = false;
  private readonly highWaterMark: number;
  private summary: Promise<CastSummary> | null = null;
  private closing: Promise<CastSummary> | null = null;
  private readonly redactor: StreamRedactor | null;
  private readonly inRedactor: StreamRedactor | null;
  private readonly privacy: InputPrivacy | null;
  /** The live view (one feed per session), or null: one check per output piece. */
  private follower: OutputFollower | null = null;
  private followDecoder: StringDecoder | undefined;
  private followRedactor: StreamRedactor | null | undefined;

  private constructor(out: RecordingFile, path: string, opts: CastWriterOptions) {
    super(out, path, opts);
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
      const h = await this.finish();
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
}
