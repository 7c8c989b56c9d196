/**
 * SHA-256 of the output a recording does not keep (past the cap, or binary), computed on a worker
 * thread: at bulk rates hashing is a quarter of the broker's per-byte work, and the relay's thread
 * is the one that must not be busy. Bytes are copied into a staging buffer (one memcpy per chunk,
 * no allocation), and whole staging buffers are transferred, not copied, to the worker.
 *
 * One worker serves every recording of the broker; it is unref'd and started on first use.
 */
import { EventEmitter } from 'node:events';
import { createHash, type Hash } from 'node:crypto';
import { isMainThread, Worker } from 'node:worker_threads';

const STAGE_BYTES = 1024 * 1024;
const SEND_AFTER_MS = 20;

// CommonJS, evaluated in the worker: one running hash per stream id.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = streams.get(m.id);
    if (h === undefined) { h = createHash('sha256'); streams.set(m.id, h); }
    h.update(new Uint8Array(m.data, 0, m.length));
    parentPort.postMessage({ op: 'ack', bytes: m.length });
  } else if (m.op === 'digest') {
    const h = streams.get(m.id) ?? createHash('sha256');
    streams.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: h.digest('hex') });
  }
});
`;

class HashThread extends EventEmitter {
  private readonly worker: Worker;
  private nextId = 1;
  /** Bytes handed to the worker and not yet hashed. */
  outstanding = 0;
  private readonly digests = new Map<number, { resolve(hex: string): void; reject(err: Error): void }>();
  private failed: Error | null = null;

  constructor() {
    super();
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on('message', (m: { op: string; bytes?: number; id?: number; hex?: string }) => {
      if (m.op === 'ack') {
        this.outstanding -= m.bytes ?? 0;
        if (this.outstanding <= STAGE_BYTES) this.emit('drain');
      } else if (m.op === 'digest') {
        this.digests.get(m.id as number)?.resolve(m.hex as string);
        this.digests.delete(m.id as number);
      }
    });
    // A dead hasher fails every digest it owes, and holds no one back (the backlog is gone with it).
    this.worker.on('error', (err) => {
      this.failed = err;
      for (const d of this.digests.values()) d.reject(err);
      this.digests.clear();
      this.outstanding = 0;
      this.emit('drain');
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    this.worker.unref();
  }

  id(): number {
    return this.nextId++;
  }

  update(id: number, buf: ArrayBuffer, length: number): void {
    if (this.failed !== null) return;
    this.outstanding += length;
    this.worker.postMessage({ op: 'update', id, data: buf, length }, [buf]);
  }

  digest(id: number): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.failed !== null) return reject(this.failed);
      this.digests.set(id, { resolve, reject });
      this.worker.postMessage({ op: 'digest', id });
    });
  }
}

let shared: HashThread | null = null;
function thread(): HashThread {
  shared ??= new HashThread();
  return shared;
}

/** A streaming SHA-256 whose work happens off the calling thread. */
export class OffThreadHash {
  /** Off the main thread already (the recording thread), the hash is simply computed inline. */
  private readonly inline: Hash | null = isMainThread ? null : createHash('sha256');
  private readonly id: number;
  private stage: Buffer = Buffer.allocUnsafe(STAGE_BYTES);
  private used = 0;
  private scheduled = false;

  constructor() {
    this.id = this.inline === null ? thread().id() : 0;
  }

  update(chunk: Buffer): void {
    if (this.inline !== null) {
      this.inline.update(chunk);
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, STAGE_BYTES - this.used);
      chunk.copy(this.stage, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === STAGE_BYTES) this.send();
    }
    if (this.used > 0 && !this.scheduled) {
      // Partly filled stages go out on a short timer, not every tick: one message per MiB at bulk rates.
      this.scheduled = true;
      setTimeout(() => {
        this.scheduled = false;
        this.send();
      }, SEND_AFTER_MS).unref();
    }
  }

  /** Bytes waiting to be hashed, across every recording (for backpressure). */
  static get backlog(): number {
    return shared?.outstanding ?? 0;
  }

  /** Calls `fn` once the hashing backlog is small again. */
  static onceDrained(fn: () => void): void {
    if (OffThreadHash.backlog <= STAGE_BYTES) fn();
    else thread().once('drain', fn);
  }

  async digest(): Promise<string> {
    if (this.inline !== null) return this.inline.digest('hex');
    this.send();
    return thread().digest(this.id);
  }

  private send(): void {
    if (this.used === 0) return;
    const full = this.stage;
    const length = this.used;
    this.stage = Buffer.allocUnsafe(STAGE_BYTES);
    this.used = 0;
    // Buffer.allocUnsafe(1 MiB) gets its own ArrayBuffer (larger than the pool), so it can be transferred.
    thread().update(this.id, full.buffer as ArrayBuffer, length);
  }
}
