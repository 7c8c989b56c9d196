/**
 * The last step between the data channel and the sink. Output is held (left un-acked in the
 * reliable layer) until the caller holds the Upstream; while the session has paused us it is acked
 * and queued up to a bound, and past the bound left un-acked, so the agent's own send window stops
 * it reading the program. A channel_closed that arrives while output is still held waits for it,
 * so exit and closed always come after the last byte.
 *
 * That wait is bounded where it depends on the agent: channel_closed is not sequenced (spec §6.4),
 * so it can overtake output still being retransmitted, and frames held behind a sequence gap wait
 * for the missing one. Late frames are still taken (data-channel.ts) for `closeGraceMs`; then, or
 * as soon as the socket is gone, the in-order run is delivered, what waits behind the gap is
 * dropped, and the close goes through. A wait for the session's own pause or gate is not bounded:
 * that output has arrived and is only waiting for the responder.
 */
import type { UpstreamSink } from '../types.js';
import type { Timers } from './clock.js';
import { PayloadType } from './codec.js';
import { parseExitCodePayload, type ChannelClosed } from './messages.js';

export interface OutputGateOptions {
  readonly sink: UpstreamSink;
  /** Output acked and queued while paused before frames are left un-acked. */
  readonly pauseBufferBytes: number;
  /** Offers the frames the reliable layer holds un-acked to `deliver` again. */
  readonly flushReliable: () => void;
  /** How many frames the reliable layer still holds undelivered. */
  readonly heldInReliable: () => number;
  readonly onExitCode: (code: number | null) => void;
  /** A channel_closed that waited for held output, now due. */
  readonly onDeferredClose: (closed: ChannelClosed) => void;
  /** Drops the frames the reliable layer holds behind a sequence gap; returns how many. */
  readonly discardBehindGap: () => number;
  /** Frames behind a gap were dropped to let a held close through. */
  readonly onGapAbandoned: (dropped: number) => void;
  /** How long a held close waits for frames that fill a gap. */
  readonly closeGraceMs: number;
  readonly timers: Timers;
}

export class OutputGate {
  private readonly o: OutputGateOptions;
  private gated = true;
  private paused = false;
  private queue: Array<{ readonly type: number; readonly payload: Buffer }> = [];
  private queuedBytes = 0;
  private heldClose: ChannelClosed | null = null;
  private cancelGrace: (() => void) | null = null;
  private gapWaitOver = false;
  private releaseQueued = false;

  constructor(options: OutputGateOptions) {
    this.o = options;
  }

  get isGated(): boolean {
    return this.gated;
  }

  /** Whether a frame can be taken now; when not, it stays un-acked in the reliable layer. */
  canTake(): boolean {
    return !this.gated && !(this.paused && this.queuedBytes >= this.o.pauseBufferBytes);
  }

  /** A decrypted Output, StdErr or ExitCode payload, in sequence order. */
  take(type: number, payload: Buffer): void {
    if (this.paused) {
      this.queue.push({ type, payload });
      this.queuedBytes += payload.length;
    } else {
      this.emit(type, payload);
    }
    // A late frame may have been the last one a held close waited for. The reliable layer counts
    // it as held until this delivery returns, so look once its flush is over.
    if (this.heldClose !== null && !this.releaseQueued) {
      this.releaseQueued = true;
      queueMicrotask(() => {
        this.releaseQueued = false;
        if (!this.gated && !this.paused) this.releaseClose();
      });
    }
  }

  open(): void {
    if (!this.gated) return;
    this.gated = false;
    if (!this.paused) this.drain();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.gated) this.drain();
  }

  /** Keeps channel_closed back while output is still held; true when it was kept. */
  holdClose(closed: ChannelClosed): boolean {
    if (!this.gated && !this.hasUndelivered()) return false;
    this.heldClose = closed;
    if (!this.gapWaitOver && this.cancelGrace === null) {
      this.cancelGrace = this.o.timers.after(this.o.closeGraceMs, () => this.stopWaitingForGap());
    }
    return true;
  }

  /** No frame will fill a gap any more (grace over, or the socket is gone): stop waiting for one. */
  stopWaitingForGap(): void {
    this.gapWaitOver = true;
    this.stopGraceTimer();
    if (!this.gated && !this.paused) this.drain();
  }

  /** The session ended some other way: no close will be released. */
  stop(): void {
    this.stopGraceTimer();
    this.heldClose = null;
  }

  private hasUndelivered(): boolean {
    return this.queue.length > 0 || this.o.heldInReliable() > 0;
  }

  /** Queue first, then what the reliable layer holds, then a close that waited for them. */
  private drain(): void {
    while (this.queue.length > 0 && !this.paused) {
      const next = this.queue.shift();
      if (next === undefined) break;
      this.queuedBytes -= next.payload.length;
      this.emit(next.type, next.payload);
    }
    if (this.paused) return;
    this.o.flushReliable();
    this.releaseClose();
  }

  private releaseClose(): void {
    if (this.heldClose === null) return;
    if (this.gapWaitOver) {
      const dropped = this.o.discardBehindGap();
      if (dropped > 0) this.o.onGapAbandoned(dropped);
    }
    if (this.hasUndelivered()) return;
    const closed = this.heldClose;
    this.heldClose = null;
    this.stopGraceTimer();
    this.o.onDeferredClose(closed);
  }

  private stopGraceTimer(): void {
    this.cancelGrace?.();
    this.cancelGrace = null;
  }

  private emit(type: number, payload: Buffer): void {
    if (type === PayloadType.Output) this.o.sink.data(payload);
    else if (type === PayloadType.StdErr) this.o.sink.stderr(payload);
    else this.o.onExitCode(parseExitCodePayload(payload));
  }
}
