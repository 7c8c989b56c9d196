/**
 * A live view during a flood (a bulk transfer: more than FLOOD_BYTES within WINDOW_MS). Nobody
 * reads such a stream as it passes, and decoding, redacting and sending every byte to the watchers
 * would cost the broker as much again as relaying it. The view gets the screen instead: every
 * SAMPLE_MS the last TAIL_BYTES of output, and once more when the flood is over (QUIET_MS without
 * output), after which it follows byte by byte again.
 *
 * Two places sample: the relay thread, for output the recording no longer keeps (past the cap,
 * binary: those bytes travel to the recording thread only for a watcher), as raw bytes
 * (FloodSampler; sample.ts decodes and redacts the tail on the recording thread); and the
 * recording thread, for recorded output, as the text it has already decoded and redacted
 * (TextFloodSampler).
 */
import { performance } from 'node:perf_hooks';

/** More than 128 KiB within 50 ms (2.6 MB/s): a short window, so a bulk transfer is caught early. */
export const FLOOD_BYTES = 128 * 1024;
const WINDOW_MS = 50;
export const SAMPLE_MS = 500;
export const QUIET_MS = 200;
const TICK_MS = 100;
/** A screen and a few hundred lines of scrollback. */
export const TAIL_BYTES = 32 * 1024;

abstract class Sampler<T extends { readonly length: number }> {
  private windowStart = -Infinity;
  private windowBytes = 0;
  /** The last TAIL_BYTES (at least) of output, by reference: relayed chunks are not reused. */
  protected ring: T[] = [];
  protected ringBytes = 0;
  private flooding = false;
  private last = 0;
  private lastSample = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sink: (tail: T, flooding: boolean) => void) {}

  /** True when the sampler took the chunk; false when the view should get it byte by byte. */
  push(chunk: T): boolean {
    const now = performance.now();
    this.last = now;
    if (now - this.windowStart > WINDOW_MS) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    this.windowBytes += chunk.length;
    if (!this.flooding) {
      if (this.windowBytes <= FLOOD_BYTES) return false;
      this.flooding = true;
      this.lastSample = now;
      this.timer = setInterval(this.tick, TICK_MS);
      this.timer.unref();
    }
    this.ring.push(chunk);
    this.ringBytes += chunk.length;
    while (this.ring.length > 1 && this.ringBytes - (this.ring[0] as T).length >= TAIL_BYTES) this.ringBytes -= (this.ring.shift() as T).length;
    return true;
  }

  /** Ends sampling now with a last sample if a flood is on (the session ends: the view shows where it ended). */
  flush(): void {
    if (!this.flooding) return this.dispose();
    const tail = this.tail();
    this.dispose();
    this.sink(tail, false);
  }

  /** Stops sampling without a last sample (the watcher left). */
  dispose(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.flooding = false;
    this.ring = [];
    this.ringBytes = 0;
  }

  private readonly tick = (): void => {
    const now = performance.now();
    if (now - this.last >= QUIET_MS) {
      const tail = this.tail();
      this.dispose();
      this.sink(tail, false);
    } else if (now - this.lastSample >= SAMPLE_MS) {
      this.lastSample = now;
      this.sink(this.tail(), true);
    }
  };

  /** The last TAIL_BYTES of the ring. */
  protected abstract tail(): T;
}

/** Raw output bytes (relay thread). */
export class FloodSampler extends Sampler<Buffer> {
  protected tail(): Buffer {
    const all = this.ring.length === 1 ? (this.ring[0] as Buffer) : Buffer.concat(this.ring, this.ringBytes);
    return all.length > TAIL_BYTES ? all.subarray(all.length - TAIL_BYTES) : all;
  }
}

/** Decoded, redacted text (recording thread); the sample starts at a line start. */
export class TextFloodSampler extends Sampler<string> {
  protected tail(): string {
    const all = this.ring.join('');
    const from = all.length > TAIL_BYTES ? all.length - TAIL_BYTES : 0;
    const nl = from > 0 ? all.indexOf('\n', from) : -1;
    return all.slice(nl >= 0 ? nl + 1 : from);
  }
}
