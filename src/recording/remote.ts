/**
 * Recordings, seen from the relay thread. A session's recorder is a RemoteRecording: each call
 * records the arrival time and copies the bytes into this tick's batch (one memcpy, no per-call
 * message); once per tick the batch goes to the recording thread (thread.ts) as one message with
 * one transferred buffer. Decoding, redaction, JSON and the file all happen there, so a bulk
 * transfer or a slow disk never occupies the thread that relays every keystroke, and the bytes in
 * flight are bounded: past HIGH_WATER the recorder reports `congested` and the relay pauses the
 * target until the recording thread has caught up (the disk is part of the path).
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { FloodSampler } from './flood.js';
import type { BatchEvent, FromThread, ToThread } from './protocol.js';
import { absNow, type CastHeader, type CastSummary, type CastWriterOptions } from './writer.js';

const HIGH_WATER = 64 * 1024 * 1024;
const LOW_WATER = 32 * 1024 * 1024;
/** A close that takes longer (gzip and hash of a large file included) is reported as failed. */
const CLOSE_TIMEOUT_MS = 60_000;
const BATCH_BYTES = 512 * 1024;
const BATCH_MS = 5;
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

class RecordingThread {
  private readonly worker: Worker;
  private events: BatchEvent[] = [];
  private chunks: Buffer[] = [];
  /** Output bytes per recording in the batch being built, and in each batch not yet acknowledged. */
  private batchOutput = new Map<number, number>();
  private readonly unacked: Map<number, number>[] = [];
  private bytes = 0;
  private scheduled = false;
  private inflight = 0;
  private drained: (() => void)[] = [];
  private nextId = 1;
  private nextReq = 1;
  private readonly recordings = new Map<number, RemoteRecording>();
  private readonly handoffs = new Map<number, (r: { path?: string; bytes?: number; error?: string }) => void>();
  dead: Error | null = null;

  constructor(onExit: () => void) {
    const url = import.meta.url;
    const thread = new URL(url.endsWith('.ts') ? './thread.ts' : './thread.js', url);
    // From the TypeScript sources (tests, tsx), the thread registers tsx's loader first.
    this.worker = url.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(thread.href)}); });`, { eval: true })
      : new Worker(thread);
    this.worker.on('message', (m: FromThread) => this.onMessage(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.dead === null) this.fail(new Error(`the recording thread exited (${code})`));
      onExit();
    });
    this.worker.unref();
  }

  id(): number {
    return this.nextId++;
  }

  /** The thread keeps the process alive while a recording is open, and not after (unref). */
  add(id: number, r: RemoteRecording): void {
    if (this.recordings.size === 0) this.worker.ref();
    this.recordings.set(id, r);
  }

  remove(id: number): void {
    if (this.recordings.delete(id) && this.recordings.size === 0) this.worker.unref();
  }

  send(m: ToThread): void {
    if (this.dead) return;
    this.flush();
    this.worker.postMessage(m);
  }

  /** Queues a piece for this tick's batch; its bytes are copied into the batch at the end of the tick. */
  record(kind: 'o' | 'i', id: number, chunk: Buffer): void {
    this.events.push([kind, id, absNow(), this.bytes, chunk.length]);
    if (kind === 'o') this.batchOutput.set(id, (this.batchOutput.get(id) ?? 0) + chunk.length);
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.schedule();
  }

  /** A screen sample for the live view (flood.ts): travels like output, is not recorded. */
  recordScreen(id: number, tail: Buffer, flooding: boolean): void {
    this.events.push(['s', id, absNow(), this.bytes, tail.length, flooding ? 1 : 0]);
    this.chunks.push(tail);
    this.bytes += tail.length;
    this.schedule();
  }

  recordMeta(e: BatchEvent): void {
    this.events.push(e);
    this.schedule();
  }

  /**
   * Past the high-water mark the relay pauses the target. (A live view fed by this thread does not
   * fall behind it: only a flood fills the queue, and a flood is sampled for the view, flood.ts.)
   */
  get congested(): boolean {
    return this.inflight + this.bytes > HIGH_WATER;
  }

  onceDrained(fn: () => void): void {
    if (!this.congested || this.dead) fn();
    else this.drained.push(fn);
  }

  watch(id: number): Promise<{ path: string; bytes: number }> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.handoffs.set(req, (r) => (r.error !== undefined || r.path === undefined ? reject(new Error(r.error ?? 'handoff failed')) : resolve({ path: r.path, bytes: r.bytes ?? 0 })));
      this.send({ op: 'watch', id, req });
    });
  }

  /**
   * A batch goes out when BATCH_BYTES are waiting, or BATCH_MS after its first piece: at bulk rates
   * one message per half MiB rather than one per tick; interactively a keystroke reaches the file
   * (and a live view) within milliseconds. Times are taken on arrival, so batching never shifts them.
   */
  private schedule(): void {
    if (this.bytes >= BATCH_BYTES) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    this.timer = setTimeout(this.flushNow, BATCH_MS);
  }

  private readonly flushNow = (): void => this.flush();
  private timer: NodeJS.Timeout | null = null;

  /** Sends this tick's batch: one message, one transferred buffer (not pooled, so transferable). */
  flush(): void {
    this.scheduled = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.events.length === 0 || this.dead) return;
    const data = Buffer.allocUnsafeSlow(this.bytes);
    let off = 0;
    for (const c of this.chunks) off += c.copy(data, off);
    const m: ToThread = { op: 'batch', events: this.events, data: data.buffer as ArrayBuffer, length: this.bytes };
    this.inflight += this.bytes;
    this.unacked.push(this.batchOutput);
    this.batchOutput = new Map();
    this.events = [];
    this.chunks = [];
    this.bytes = 0;
    this.worker.postMessage(m, [data.buffer as ArrayBuffer]);
  }

  private onMessage(m: FromThread): void {
    switch (m.op) {
      case 'ack': {
        this.inflight -= m.bytes;
        for (const [id, n] of this.unacked.shift() ?? []) this.recordings.get(id)?.processed(n);
        if (this.inflight <= LOW_WATER && this.drained.length > 0) {
          const waiting = this.drained;
          this.drained = [];
          for (const fn of waiting) fn();
        }
        break;
      }
      case 'handoff':
        this.handoffs.get(m.req)?.(m);
        this.handoffs.delete(m.req);
        break;
      default:
        this.recordings.get(m.id)?.onMessage(m);
    }
  }

  private fail(err: Error): void {
    if (this.dead !== null) return;
    this.dead = err;
    for (const r of this.recordings.values()) r.onMessage({ op: 'error', id: 0, message: `the recording thread failed: ${err.message}` });
    for (const fn of this.drained) fn();
    this.drained = [];
  }
}

let thread: RecordingThread | null = null;
function shared(): RecordingThread {
  if (thread === null || thread.dead !== null) {
    const t = new RecordingThread(() => {
      if (thread === t) thread = null;
    });
    thread = t;
  }
  return thread;
}

export class RemoteRecording implements Recorder {
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
    this.t = shared();
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
