/**
 * The relay thread's end of the recording thread (thread.ts): one worker for the whole broker.
 * Pieces of every recording are batched per tick — arrival time taken on the call, bytes copied
 * into one buffer — and sent as one message with that buffer transferred; the thread acknowledges
 * each batch once its writers have room. The bytes in flight are bounded: past HIGH_WATER
 * `congested` is true and the relays pause their targets until the thread has caught up (the disk
 * is part of the path). Protocol: protocol.ts; the per-session side: remote.ts.
 */
import { Worker } from 'node:worker_threads';
import type { BatchEvent, FromThread, ToThread } from './protocol.js';
import { absNow } from './clock.js';

const HIGH_WATER = 64 * 1024 * 1024;
const LOW_WATER = 32 * 1024 * 1024;
const BATCH_BYTES = 512 * 1024;
/** A batch waits at most this long while someone watches a session live... */
const LIVE_BATCH_MS = 5;
/**
 * ...and this long otherwise. Each batch is a message each way between the threads and one write(2)
 * per session it touches, and on a VM a wake-up or a system call costs more than the work a few
 * keystrokes bring (bench/recording.ts, 100 interactive sessions out of step, median of 5 pairs:
 * 2.08% of a core at 150 ms, 1.50% at 500 ms; earlier 6% at 5 ms, 3.4–3.9% at 50 ms). The
 * recording thread writes each batch's lines as soon as it has processed it (thread.ts): a kill -9
 * loses at most the last 500 ms of a session nobody watches, 5 ms of one somebody does.
 */
const QUIET_BATCH_MS = 500;

/** A recording as the thread port sees it (RemoteRecording). */
export interface ThreadClient {
  /** The thread has processed `n` more output bytes of it. */
  processed(n: number): void;
  onMessage(m: FromThread): void;
}

export class RecordingThread {
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
  private readonly recordings = new Map<number, ThreadClient>();
  private readonly handoffs = new Map<number, (r: { path?: string; bytes?: number; error?: string }) => void>();
  /** Recordings a live view follows: while there are any, batches go out after LIVE_BATCH_MS. */
  private readonly watched = new Set<number>();
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
  add(id: number, r: ThreadClient): void {
    if (this.recordings.size === 0) this.worker.ref();
    this.recordings.set(id, r);
  }

  remove(id: number): void {
    this.watched.delete(id);
    if (this.recordings.delete(id) && this.recordings.size === 0) this.worker.unref();
  }

  send(m: ToThread): void {
    if (m.op === 'unwatch') this.watched.delete(m.id);
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
    this.watched.add(id);
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.handoffs.set(req, (r) => (r.error !== undefined || r.path === undefined ? reject(new Error(r.error ?? 'handoff failed')) : resolve({ path: r.path, bytes: r.bytes ?? 0 })));
      this.send({ op: 'watch', id, req });
    });
  }

  /**
   * A batch goes out when BATCH_BYTES are waiting, or LIVE_BATCH_MS / QUIET_BATCH_MS after its
   * first piece: at bulk rates one message per half MiB rather than one per tick; a watched
   * keystroke reaches the live view within milliseconds. Times are taken on arrival, so batching
   * never shifts them.
   */
  private schedule(): void {
    if (this.bytes >= BATCH_BYTES) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    this.timer = setTimeout(this.flushNow, this.watched.size > 0 ? LIVE_BATCH_MS : QUIET_BATCH_MS);
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
export function sharedThread(): RecordingThread {
  if (thread === null || thread.dead !== null) {
    const t = new RecordingThread(() => {
      if (thread === t) thread = null;
    });
    thread = t;
  }
  return thread;
}
