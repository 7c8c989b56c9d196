/**
 * Recordings, seen from the relay thread. A session's recorder is a RemoteRecording: each call
 * hands its piece to the thread port (thread-port.ts), which batches it with everything else this
 * tick for the recording thread (thread.ts). Decoding, redaction, JSON and the file all happen
 * there, so a bulk transfer or a slow disk never occupies the thread that relays every keystroke.
 * Here: the handoff to a live view, output past the recording's stop (hashed here, and sampled
 * for a live view during floods: flood.ts), and closing.
 */
import { createHash, type Hash } from 'node:crypto';
import { FloodSampler } from './flood.js';
import type { FromThread } from './protocol.js';
import { sharedThread, type RecordingThread, type ThreadClient } from './thread-port.js';
import { absNow } from './clock.js';
import type { CastHeader, CastSummary, CastWriterOptions } from './writer.js';

/** A close that takes longer (gzip and hash of a large file included) is reported as failed. */
const CLOSE_TIMEOUT_MS = 60_000;
const RETAIN_MARGIN = 8;

/** What a live view gets while it follows a recording: output as recorded (redacted), and resizes. */
export interface LiveFollower {
  output(text: string): void;
  resize(cols: number, rows: number): void;
  /** During a flood of unrecorded output (flood.ts): the screen to redraw from; `flooding` false on the last one. */
  screen(text: string, flooding: boolean): void;
}

/** Where a live view starts: the file holds exactly `bytes` of the recording when it follows on. */
export interface Watching {
  readonly handoff: Promise<{ readonly path: string; readonly bytes: number }>;
  stop(): void;
}

/** A session's recorder, as the relay, the session and the live view use it. */
export interface Recorder {
  output(chunk: Buffer): void;
  input(chunk: Buffer): void;
  resize(cols: number, rows: number): void;
  marker(label: string): void;
  readonly congested: boolean;
  onceDrained(fn: () => void): void;
  close(): Promise<CastSummary>;
  /** The file as it lies on disk (`.cast.gz` once closed with gzip). */
  readonly file: string;
  watch(f: LiveFollower): Watching;
}

export class RemoteRecording implements Recorder, ThreadClient {
  private readonly id: number;
  private readonly t: RecordingThread;
  private opened: ((err?: Error) => void) | null = null;
  private closing: Promise<CastSummary> | null = null;
  private closed: ((r: { summary?: CastSummary; file?: string; error?: string }) => void) | null = null;
  private follower: LiveFollower | null = null;
  /** Samples the unrecorded output for the live view during floods. */
  private sampler: FloodSampler | null = null;
  private failed = false;
  file: string;
  /**
   * Past the recording's stop (cap or binary output) the bytes are hashed here, on the relay
   * thread: SHA-256 runs at ~1.8 GB/s with SHA-NI, cheaper than copying the bytes to the recording
   * thread. Until the stop, sent output is kept (by reference) until the recording thread has
   * processed it, so the hash can start exactly where recording stopped.
   */
  private tail: Hash | null = null;
  private tailBytes = 0;
  private sent = 0;
  private retained: Buffer[] = [];
  private retainedStart = 0;
  private processedUpTo = 0;

  private constructor(
    private readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.t = sharedThread();
    this.id = this.t.id();
    this.file = path;
    this.t.add(this.id, this);
  }

  /** Opens `path` on the recording thread; rejects when the file cannot be created. */
  static async open(path: string, header: CastHeader, opts: CastWriterOptions): Promise<RemoteRecording> {
    const { onError, ...rest } = opts;
    const r = new RemoteRecording(path, onError);
    await new Promise<void>((resolve, reject) => {
      r.opened = (err) => (err ? reject(err) : resolve());
      r.t.send({ op: 'open', id: r.id, path, header, opts: rest });
    });
    return r;
  }

  output(chunk: Buffer): void {
    if (this.failed) return;
    if (this.tail !== null) {
      this.tail.update(chunk);
      this.tailBytes += chunk.length;
      // A live view still follows the session past the cap: only then do the bytes travel.
      if (this.follower !== null) this.follow(chunk);
      return;
    }
    this.t.record('o', this.id, chunk);
    this.retained.push(chunk);
    this.sent += chunk.length;
  }

  /** Unrecorded output for the live view: every byte, or during a flood a sample of the screen. */
  private follow(chunk: Buffer): void {
    this.sampler ??= new FloodSampler((tail, flooding) => {
      if (this.follower === null) return;
      this.t.recordScreen(this.id, tail, flooding);
    });
    if (!this.sampler.push(chunk)) this.t.record('o', this.id, chunk);
  }

  private waitingCatchUp: (() => void) | null = null;

  private caughtUp(fn: () => void): void {
    if (this.tail !== null || this.processedUpTo >= this.sent || this.t.dead) fn();
    else this.waitingCatchUp = fn;
  }

  /** The recording thread has processed `n` more output bytes: drop what can no longer be needed. */
  processed(n: number): void {
    this.processedUpTo += n;
    if (this.waitingCatchUp !== null && (this.tail !== null || this.processedUpTo >= this.sent)) {
      const fn = this.waitingCatchUp;
      this.waitingCatchUp = null;
      fn();
    }
    // Keep a few bytes behind: an incomplete UTF-8 character at the stop belongs to the unrecorded part.
    while (this.retained.length > 1 && this.retainedStart + (this.retained[0] as Buffer).length < this.processedUpTo - RETAIN_MARGIN) {
      this.retainedStart += (this.retained.shift() as Buffer).length;
    }
  }

  private stopped(offset: number): void {
    if (this.tail !== null) return;
    const h = createHash('sha256');
    let start = this.retainedStart;
    for (const c of this.retained) {
      const end = start + c.length;
      if (end > offset) h.update(start >= offset ? c : c.subarray(offset - start));
      start = end;
    }
    this.tail = h;
    this.tailBytes = this.sent - offset;
    this.retained = [];
  }

  input(chunk: Buffer): void {
    if (!this.failed) this.t.record('i', this.id, chunk);
  }

  resize(cols: number, rows: number): void {
    if (!this.failed) this.t.recordMeta(['r', this.id, absNow(), cols, rows]);
  }

  marker(label: string): void {
    if (!this.failed) this.t.recordMeta(['m', this.id, absNow(), label]);
  }

  get congested(): boolean {
    return this.t.congested;
  }

  onceDrained(fn: () => void): void {
    this.t.onceDrained(fn);
  }

  watch(f: LiveFollower): Watching {
    this.follower = f;
    return {
      handoff: this.t.watch(this.id),
      stop: () => {
        if (this.follower !== f) return;
        this.follower = null;
        this.sampler?.dispose();
        this.t.send({ op: 'unwatch', id: this.id });
      },
    };
  }

  close(): Promise<CastSummary> {
    this.closing ??= new Promise<{ summary?: CastSummary; file?: string; error?: string }>((resolve) => {
      if (this.t.dead) return resolve({ error: `the recording thread failed: ${this.t.dead.message}` });
      this.closed = resolve;
      const timer = setTimeout(() => resolve({ error: 'the recording thread did not close the file in time' }), CLOSE_TIMEOUT_MS);
      timer.unref();
      this.sampler?.flush();
      // Once every byte sent is processed, a stop (if any) has been reported: the tail is complete.
      this.t.flush();
      this.caughtUp(() => {
        const tail = this.tail === null ? undefined : { bytes: this.tailBytes, sha256: this.tail.digest('hex') };
        this.t.send({ op: 'close', id: this.id, ...(tail && { tail }) });
      });
    }).then((r) => {
      this.t.remove(this.id);
      if (r.error !== undefined || r.summary === undefined) throw new Error(r.error ?? 'the recording did not close');
      this.file = r.file ?? this.path;
      return r.summary;
    });
    return this.closing;
  }

  /** From the recording thread. */
  onMessage(m: FromThread): void {
    switch (m.op) {
      case 'opened':
        this.opened?.();
        this.opened = null;
        break;
      case 'error':
        if (this.opened) {
          this.opened(new Error(m.message));
          this.opened = null;
          this.t.remove(this.id);
        } else if (!this.failed) {
          this.failed = true;
          this.onError(new Error(m.message));
        }
        if (this.closed && this.t.dead) this.closed({ error: m.message });
        break;
      case 'followed':
        this.follower?.output(m.text);
        break;
      case 'stopped':
        this.stopped(m.offset);
        break;
      case 'followedResize':
        this.follower?.resize(m.cols, m.rows);
        break;
      case 'followedScreen':
        this.follower?.screen(m.text, m.flooding);
        break;
      case 'closed':
        this.closed?.(m);
        break;
      default:
        break;
    }
  }
}
