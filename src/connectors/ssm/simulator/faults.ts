/**
 * Deterministic fault injection for the simulator's MGS relay: frame loss, duplication,
 * reordering and corrupted digests, each direction on its own seeded PRNG, plus one socket drop
 * after a chosen number of frames. The same seed gives every n-th frame of a direction the same
 * fate, run after run (which frames those are still depends on what the peers send).
 */
import type { Timers } from '../clock.js';

export interface FaultConfig {
  /** Fraction [0,1) of stream and ack frames silently dropped, each direction. */
  dropRate: number;
  /** Fraction of frames delivered twice. */
  duplicateRate: number;
  /** Fraction of frames held back and delivered after the next one (or after 20 ms). */
  reorderRate: number;
  /** Fraction of agent→client frames delivered with a corrupted PayloadDigest (the original stays buffered for retransmission). */
  badDigestRate: number;
  /** Terminate the data-channel socket abruptly after this many agent→client stream frames, once per session. 0: never. */
  dropSocketAfterFrames: number;
  /**
   * Every transmission of the agent's output frame with this sequence number is lost, so the
   * client holds what follows behind a gap until the agent gives up and closes. -1: none.
   */
  loseOutputSeq: number;
  /** PRNG seed; each session and direction derives its own stream from it. */
  seed: number;
}

export const NO_FAULTS: Readonly<FaultConfig> = {
  dropRate: 0, duplicateRate: 0, reorderRate: 0, badDigestRate: 0, dropSocketAfterFrames: 0, loseOutputSeq: -1, seed: 1,
};

export interface FaultCounters {
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Deliveries of a frame with a corrupted digest (a corrupted frame that is also duplicated counts twice). */
  corrupted: number;
  socketDrops: number;
}

export function newFaultCounters(): FaultCounters {
  return { dropped: 0, duplicated: 0, reordered: 0, corrupted: 0, socketDrops: 0 };
}

/** mulberry32: small, fast, good enough to scatter faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DIGEST_OFFSET = 80;
const REORDER_HOLD_MS = 20;

/** One direction of the relay. Reads the live config on every frame, so tests can change it mid-session. */
export class FaultyPipe {
  private readonly config: FaultConfig;
  private readonly random: () => number;
  private readonly out: (frame: Buffer) => void;
  private readonly timers: Timers;
  private readonly counters: FaultCounters;
  private held: Buffer | null = null;
  private cancelHold: () => void = () => {};

  constructor(config: FaultConfig, seed: number, out: (frame: Buffer) => void, timers: Timers, counters: FaultCounters) {
    this.config = config;
    this.random = seededRandom(seed);
    this.out = out;
    this.timers = timers;
    this.counters = counters;
  }

  /** `corruptible`: the receiver checks digests on this frame (client-bound stream data and acks). */
  push(frame: Buffer, corruptible: boolean): void {
    const c = this.config;
    // Always four draws a frame, so one fault's setting does not shift another's sequence.
    const rDrop = this.random();
    const rCorrupt = this.random();
    const rReorder = this.random();
    const rDup = this.random();
    if (rDrop < c.dropRate) {
      this.counters.dropped++;
      return;
    }
    let frameOut = frame;
    if (corruptible && rCorrupt < c.badDigestRate) {
      frameOut = Buffer.from(frame);
      frameOut[DIGEST_OFFSET] = (frameOut[DIGEST_OFFSET] ?? 0) ^ 0xff;
      this.counters.corrupted++;
    }
    if (this.held === null && rReorder < c.reorderRate) {
      this.counters.reordered++;
      this.held = frameOut;
      this.cancelHold = this.timers.after(REORDER_HOLD_MS, () => this.release());
      return;
    }
    this.out(frameOut);
    this.release();
    if (rDup < c.duplicateRate) {
      this.counters.duplicated++;
      if (frameOut !== frame) this.counters.corrupted++;
      this.out(frameOut);
    }
  }

  /** Forgets a held frame (the socket it was bound for is gone). */
  discard(): void {
    this.cancelHold();
    this.held = null;
  }

  private release(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.cancelHold();
    this.out(held);
  }
}
