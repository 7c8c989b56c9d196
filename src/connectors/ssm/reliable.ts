/**
 * Reliable, ordered delivery over the data channel (spec §7): the state machine both ends run,
 * the client ([P]) for input_stream_data and the agent ([A], in the simulator) for
 * output_stream_data. It owns sequence numbers, the outgoing (un-acked) and incoming (out-of-order)
 * buffers, acknowledgements and retransmission; it never touches a socket — frames leave through
 * `transmit` and arrive through `receive` — and time comes from an injected Clock and Timers.
 *
 * Where the spec's sources differ we follow the recommendation: duplicates are re-acked ([A], [M];
 * [P] drops them silently), and a resent frame's lastSentTime is written back ([A]; [P] updates a
 * copy and so resends every 100 ms after the first expiry).
 */
import type { Clock } from './clock.js';
import { systemClock, systemTimers } from './clock.js';
import { encodeStreamFrame, Flags, MessageType, PayloadType, type AgentMessage } from './codec.js';
import { encodeAckPayload, parseAckSequence } from './messages.js';
import type { ReliableOptions, ReliableStats, StreamType } from './reliable-types.js';

export type { ReliableOptions, ReliableStats, StreamType } from './reliable-types.js';

interface Outgoing {
  readonly frame: Buffer;
  lastSent: number;
  attempts: number;
  sent: boolean;
}

interface Incoming {
  readonly message: AgentMessage;
  acked: boolean;
}

/** RFC 6298-style constants, [P] and [A] config.go. */
const INITIAL_SRTT_MS = 100;
const INITIAL_RTO_MS = 200;
const MAX_RTO_MS = 1000;
const MIN_RTTVAR_TERM_MS = 10;

export class ReliableChannel {
  readonly stats: ReliableStats = {
    framesSent: 0, retransmissions: 0, replayed: 0, acksSent: 0, acksReceived: 0,
    duplicatesReceived: 0, duplicateAcks: 0, outOfOrder: 0, droppedIncoming: 0, discardedBehindGap: 0,
  };
  private readonly o: ReliableOptions;
  private readonly clock: Clock;
  private readonly peerType: StreamType;
  private readonly outgoing = new Map<number, Outgoing>();
  private readonly incoming = new Map<number, Incoming>();
  private readonly stopTimer: () => void;
  private nextSeq = 0;
  private expected = 0;
  private bytesUnacked = 0;
  private srttMs = INITIAL_SRTT_MS;
  private rttVarMs = 0;
  private rtoMs = INITIAL_RTO_MS;
  private linkIsUp = false;
  private publicationPaused = false;
  private draining = false;
  private disposed = false;

  constructor(options: ReliableOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.peerType = options.outgoingType === MessageType.InputStreamData ? MessageType.OutputStreamData : MessageType.InputStreamData;
    this.stopTimer = (options.timers ?? systemTimers).every(options.resendIntervalMs ?? 100, () => this.tick());
  }

  get nextSequenceNumber(): number { return this.nextSeq; }
  get expectedSequenceNumber(): number { return this.expected; }
  get unackedCount(): number { return this.outgoing.size; }
  get unackedBytes(): number { return this.bytesUnacked; }
  get bufferedIncoming(): number { return this.incoming.size; }
  /** Sequence number of the oldest un-acked frame (nextSequenceNumber when none): the send window's base. */
  get oldestUnacked(): number {
    const first = this.outgoing.keys().next();
    return first.done === true ? this.nextSeq : first.value;
  }
  get rto(): number { return this.rtoMs; }
  get srtt(): number { return this.srttMs; }
  get rttVar(): number { return this.rttVarMs; }
  get isLinkUp(): boolean { return this.linkIsUp; }

  private get canTransmit(): boolean {
    return this.linkIsUp && !this.publicationPaused && !this.disposed;
  }

  /**
   * Sequences, buffers and (link permitting) transmits one stream frame. Returns its sequence
   * number, or -1 when the outgoing buffer is full (after calling `onOverflow`).
   */
  send(payloadType: number, payload: Uint8Array): number {
    if (this.disposed) return -1;
    if (this.outgoing.size >= (this.o.outgoingCapacity ?? 10_000)) {
      this.o.onOverflow?.();
      return -1;
    }
    const seq = this.nextSeq++;
    const now = this.clock.now();
    const flags = this.o.synOnFirst === true && seq === 0 ? Flags.Syn : 0;
    const frame = encodeStreamFrame(this.o.outgoingType, now, seq, flags, payloadType, payload);
    const entry: Outgoing = { frame, lastSent: now, attempts: 0, sent: false };
    this.outgoing.set(seq, entry);
    this.bytesUnacked += frame.length;
    if (this.canTransmit) this.put(entry);
    return seq;
  }

  /** Feeds one decoded stream or acknowledge frame; other message types are ignored. */
  receive(message: AgentMessage): void {
    if (this.disposed) return;
    if (message.messageType === MessageType.Acknowledge) {
      this.resumePublicationIfPaused();
      this.handleAck(parseAckSequence(message.payload));
    } else if (message.messageType === this.peerType) {
      this.resumePublicationIfPaused();
      this.handleData(message);
    }
  }

  /** Offers buffered in-order messages to `deliver` again (after a handler became ready). */
  flush(): void {
    if (this.draining || this.disposed) return;
    this.draining = true;
    try {
      for (;;) {
        const entry = this.incoming.get(this.expected);
        if (entry === undefined || !this.o.deliver(entry.message)) return;
        this.incoming.delete(this.expected);
        if (!entry.acked) this.ack(entry.message);
        this.expected++;
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * After channel_closed, when no more frames will come: keeps the in-order run from the expected
   * sequence number and drops what waits behind the first gap. Returns how many were dropped.
   */
  discardBehindGap(): number {
    let end = this.expected;
    while (this.incoming.has(end)) end++;
    let dropped = 0;
    for (const seq of [...this.incoming.keys()]) {
      if (seq > end) {
        this.incoming.delete(seq);
        dropped++;
      }
    }
    this.stats.discardedBehindGap += dropped;
    return dropped;
  }

  /** The socket is gone: buffer instead of transmitting, and stop the resend scheduler. */
  linkDown(): void {
    this.linkIsUp = false;
  }

  /**
   * A (new) socket is open. Every un-acked frame is resent at once, in order: frames in flight on
   * the old socket are presumed lost, and the head-only scheduler would take one tick per frame.
   */
  linkUp(): void {
    this.linkIsUp = true;
    if (!this.canTransmit) return;
    for (const entry of this.outgoing.values()) {
      if (entry.sent) this.stats.replayed++;
      this.put(entry);
    }
  }

  /** pause_publication: the far data channel is inactive; buffer new frames, suspend resends ([A]). */
  pausePublication(): void {
    this.publicationPaused = true;
  }

  /** start_publication, or any stream/ack traffic: resume, sending what was buffered meanwhile. */
  startPublication(): void {
    this.publicationPaused = false;
    if (!this.canTransmit) return;
    for (const entry of this.outgoing.values()) if (!entry.sent) this.put(entry);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopTimer();
    this.outgoing.clear();
    this.incoming.clear();
    this.bytesUnacked = 0;
  }

  /** ResendStreamDataMessageScheduler: only the oldest un-acked frame is considered (spec §7.3). */
  tick(): void {
    if (!this.canTransmit) return;
    const head = this.outgoing.values().next().value;
    if (head === undefined) return;
    const now = this.clock.now();
    if (now - head.lastSent <= this.rtoMs) return;
    if (head.attempts >= (this.o.maxResendAttempts ?? 3000)) {
      this.o.onResendExhausted?.();
      return;
    }
    head.attempts++;
    this.stats.retransmissions++;
    this.put(head);
  }

  private put(entry: Outgoing): void {
    entry.lastSent = this.clock.now();
    entry.sent = true;
    this.stats.framesSent++;
    this.o.transmit(entry.frame);
  }

  private resumePublicationIfPaused(): void {
    if (this.publicationPaused) this.startPublication();
  }

  private handleAck(seq: number): void {
    this.stats.acksReceived++;
    const entry = this.outgoing.get(seq);
    if (entry === undefined) {
      this.stats.duplicateAcks++;
      return;
    }
    this.updateRto(this.clock.now() - entry.lastSent);
    this.outgoing.delete(seq);
    this.bytesUnacked -= entry.frame.length;
    this.o.onAcked?.();
  }

  /** [P] CalculateRetransmissionTimeout. */
  private updateRto(sampleMs: number): void {
    const r = Math.max(0, sampleMs);
    this.rttVarMs = 0.75 * this.rttVarMs + 0.25 * Math.abs(this.srttMs - r);
    this.srttMs = 0.875 * this.srttMs + 0.125 * r;
    this.rtoMs = Math.min(MAX_RTO_MS, this.srttMs + Math.max(MIN_RTTVAR_TERM_MS, 4 * this.rttVarMs));
  }

  private handleData(message: AgentMessage): void {
    const seq = message.sequenceNumber;
    if (seq < this.expected) {
      this.stats.duplicatesReceived++;
      this.ack(message);
      return;
    }
    if (seq === this.expected) {
      if (this.incoming.size === 0 && !this.draining) {
        // Fast path, no allocation: the common in-order frame.
        if (this.o.deliver(message)) {
          this.ack(message);
          this.expected++;
        } else {
          this.incoming.set(seq, { message, acked: false });
        }
        return;
      }
      if (!this.incoming.has(seq)) this.incoming.set(seq, { message, acked: false });
      else this.stats.duplicatesReceived++;
      this.flush();
      return;
    }
    if (this.incoming.has(seq)) {
      this.stats.duplicatesReceived++;
      this.ack(message);
      return;
    }
    if (this.incoming.size >= (this.o.incomingCapacity ?? 10_000)) {
      this.stats.droppedIncoming++;
      return;
    }
    this.stats.outOfOrder++;
    this.incoming.set(seq, { message, acked: true });
    this.ack(message);
  }

  private ack(message: AgentMessage): void {
    if (!this.linkIsUp) return;
    const payload = encodeAckPayload(message.messageType, message.messageId, message.sequenceNumber);
    const frame = encodeStreamFrame(MessageType.Acknowledge, this.clock.now(), 0, Flags.Ack, PayloadType.None, payload);
    this.stats.acksSent++;
    this.o.transmit(frame);
  }
}
