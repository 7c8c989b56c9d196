/**
 * asciicast v2 writer (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then
 * one JSON array per event: [seconds, "o"|"i"|"r"|"m", data].
 *
 * Streaming and crash-safe: every event is one complete line handed to the OS as soon as the
 * previous write finishes (fs.WriteStream coalesces queued lines into one writev), so a SIGKILL of
 * the broker leaves a file that is readable up to its last few milliseconds; readers skip a torn
 * last line. The hot path only formats and queues lines; the file's SHA-256 and size are computed
 * once at close, from the file as it lies on disk (what a verifier will hash later).
 *
 * Bounded: output beyond `maxOutputBytes`, and binary output (bytes that are not UTF-8, which
 * asciicast cannot hold), is not written; a marker records where recording stopped, and the marker
 * at close carries the count and SHA-256 of the bytes that were not recorded, so the recording plus
 * that hash still account for every byte the target sent.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';

export interface CastHeader {
  readonly width: number;
  readonly height: number;
  /** Unix seconds at the start. */
  readonly timestamp: number;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Gatehouse fields; players ignore keys they do not know. */
  readonly session_id: string;
  readonly grant_id: string;
  readonly incident: string;
  readonly user: string;
  readonly target: string;
  readonly broker: string;
  readonly kind: 'shell' | 'exec';
  readonly command?: string | null;
}

export interface CastSummary {
  readonly sha256: string;
  readonly bytes: number;
  /** Output was cut at the cap or elided as binary. */
  readonly truncated: boolean;
}

export interface CastWriterOptions {
  readonly maxOutputBytes: number;
  /** Called once on the first write error; the writer is dead afterwards. */
  readonly onError: (err: Error) => void;
  /** Queued bytes above which `congested` turns true (the session then pauses the target). */
  readonly highWaterMark?: number;
}

export class CastWriter {
  private readonly stream: WriteStream;
  private readonly decoder = new StringDecoder('utf8');
  private readonly inDecoder = new StringDecoder('utf8');
  private readonly startedAt = performance.now();
  private outputBytes = 0;
  private unrecorded = 0;
  private unrecordedHash: Hash | null = null;
  /** The start of a character the decoder holds for the next chunk: recorded with it, or counted as unrecorded. */
  private held: Buffer = Buffer.alloc(0);
  private stopReason: string | null = null;
  private failed: Error | null = null;
  private closed = false;
  private readonly highWaterMark: number;
  private summary: Promise<CastSummary> | null = null;

  private constructor(
    stream: WriteStream,
    private readonly path: string,
    private readonly opts: CastWriterOptions,
  ) {
    this.stream = stream;
    this.highWaterMark = opts.highWaterMark ?? 4 * 1024 * 1024;
    stream.on('error', (err) => this.fail(err));
  }

  static async open(path: string, header: CastHeader, opts: CastWriterOptions): Promise<CastWriter> {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o640, highWaterMark: 256 * 1024 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    const w = new CastWriter(stream, path, opts);
    w.line(JSON.stringify({ version: 2, ...header }) + '\n');
    return w;
  }

  get error(): Error | null {
    return this.failed;
  }

  /** True while more than the high-water mark is queued for the disk. */
  get congested(): boolean {
    return this.stream.writableLength > this.highWaterMark;
  }

  /** Calls `fn` once the queue has drained below the high-water mark. */
  onceDrained(fn: () => void): void {
    if (!this.congested || this.failed) fn();
    else this.stream.once('drain', fn);
  }

  output(chunk: Buffer): void {
    if (this.closed || this.failed) return;
    this.outputBytes += chunk.length;
    if (this.stopReason !== null) {
      this.skip(chunk);
      return;
    }
    if (this.outputBytes > this.opts.maxOutputBytes) {
      this.stopRecording(`output recording stopped at the ${this.opts.maxOutputBytes}-byte cap; the stream continues unrecorded`);
      this.skip(this.takeHeld(chunk));
      return;
    }
    const text = this.decoder.write(chunk);
    if (text.includes('\uFFFD') && !chunk.includes(REPLACEMENT_UTF8)) {
      this.stopRecording('binary output (not UTF-8): not recorded from here on');
      this.skip(this.takeHeld(chunk));
      return;
    }
    const all = this.takeHeld(chunk);
    this.held = Buffer.from(all.subarray(all.length - incompleteTail(all)));
    if (text.length > 0) this.event('o', text);
  }

  input(chunk: Buffer): void {
    if (this.closed || this.failed) return;
    const text = this.inDecoder.write(chunk);
    if (text.length > 0) this.event('i', text);
  }

  resize(cols: number, rows: number): void {
    if (this.closed || this.failed) return;
    this.event('r', `${cols}x${rows}`);
  }

  marker(label: string): void {
    if (this.closed || this.failed) return;
    this.event('m', label);
  }

  /** Writes the closing marker (if output was cut), flushes and closes. Idempotent. */
  async close(): Promise<CastSummary> {
    if (!this.closed) {
      this.closed = true;
      if (this.held.length > 0 && this.unrecordedHash === null) {
        // Output ended inside a character: those bytes were never recorded either.
        this.unrecordedHash = createHash('sha256');
        this.skip(this.takeHeld(Buffer.alloc(0)));
      }
      if (this.unrecordedHash !== null && !this.failed) {
        const sha = this.unrecordedHash.digest('hex');
        this.event('m', `unrecorded output: ${this.unrecorded} bytes, sha256 ${sha}`, true);
      }
      await new Promise<void>((resolve) => {
        if (this.stream.destroyed) return resolve();
        this.stream.end(() => resolve());
        this.stream.once('error', () => resolve());
      });
    }
    if (this.failed) throw this.failed;
    this.summary ??= hashFile(this.path).then((h) => ({ ...h, truncated: this.unrecordedHash !== null }));
    return this.summary;
  }

  private stopRecording(why: string): void {
    this.stopReason = why;
    this.unrecordedHash = createHash('sha256');
    this.event('m', why);
  }

  /** `chunk` preceded by the bytes the decoder held back; empties the hold. */
  private takeHeld(chunk: Buffer): Buffer {
    const all = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    return all;
  }

  private skip(chunk: Buffer): void {
    this.unrecorded += chunk.length;
    this.unrecordedHash?.update(chunk);
  }

  private event(code: 'o' | 'i' | 'r' | 'm', data: string, force = false): void {
    if (this.closed && !force) return;
    const t = (performance.now() - this.startedAt) / 1000;
    this.line(`[${t.toFixed(6)}, "${code}", ${JSON.stringify(data)}]\n`);
  }

  private line(text: string): void {
    this.stream.write(text);
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.opts.onError(err);
  }
}

const REPLACEMENT_UTF8 = Buffer.from('\uFFFD', 'utf8');

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
