/**
 * The last step between the data channel and the sink. Output is held (left un-acked in the
 * reliable layer) until the caller holds the Upstream; while the session has paused us it is acked
 * and queued up to a bound, and past the bound left un-acked, so the agent's own send window stops
 * it reading the program. A channel_closed that arrives while output is still held waits for it,
 * so exit and closed always come after the last byte.
 */
import type { UpstreamSink } from '../types.js';
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
}

export class OutputGate {
  private readonly o: OutputGateOptions;
  private gated = true;
  private paused = false;
  private queue: Array<{ readonly type: number; readonly payload: Buffer }> = [];
  private queuedBytes = 0;
  private heldClose: ChannelClosed | null = null;

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
    return true;
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
    if (this.heldClose !== null && !this.hasUndelivered()) {
      const closed = this.heldClose;
      this.heldClose = null;
      this.o.onDeferredClose(closed);
    }
  }

  private emit(type: number, payload: Buffer): void {
    if (type === PayloadType.Output) this.o.sink.data(payload);
    else if (type === PayloadType.StdErr) this.o.sink.stderr(payload);
    else this.o.onExitCode(parseExitCodePayload(payload));
  }
}
