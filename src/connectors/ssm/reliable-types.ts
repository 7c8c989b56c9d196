/**
 * The option and statistics types of ReliableChannel (reliable.ts). Kept apart from the state
 * machine so that its documented knobs and counters can be read, and imported as types, without
 * the implementation; reliable.ts re-exports them.
 */
import type { Clock, Timers } from './clock.js';
import type { AgentMessage, MessageType } from './codec.js';

export type StreamType = typeof MessageType.InputStreamData | typeof MessageType.OutputStreamData;

export interface ReliableOptions {
  /** The stream this end sends: input_stream_data for a client, output_stream_data for an agent. */
  readonly outgoingType: StreamType;
  /** Puts a frame on the wire. Called only while the link is up. */
  readonly transmit: (frame: Buffer) => void;
  /**
   * Hands an in-order message to its handler. Return false when the handler cannot take it yet
   * (the agent's ErrHandlerNotReady, a paused client): it is then neither acked nor consumed, and
   * is offered again on `flush()` or when the peer retransmits.
   */
  readonly deliver: (message: AgentMessage) => boolean;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: real (unref'd) timers. */
  readonly timers?: Timers;
  /** Set Flags=SYN on sequence 0, as the agent does. Default false (the plugin writes 0). */
  readonly synOnFirst?: boolean;
  /** ResendSleepInterval: how often the oldest un-acked frame is looked at. Default 100 ms. */
  readonly resendIntervalMs?: number;
  /**
   * ResendMaxAttempt: resends of one frame before `onResendExhausted`. Default 3000 ([P]). Not the
   * spec's "≈5 min" (that is [P] resending every tick): lastSent is written back ([A]), so 3000
   * resends last ≈5 min at an RTO under 100 ms, 15 min at 200 ms, 55 min at the 1 s cap.
   */
  readonly maxResendAttempts?: number;
  /** Out-of-order frames held for later; beyond this a future frame is dropped un-acked. Default 10000. */
  readonly incomingCapacity?: number;
  /** Un-acked frames held; beyond this `send` refuses and calls `onOverflow`. Default 10000. */
  readonly outgoingCapacity?: number;
  /** After an ack removed a frame from the outgoing buffer (room for a waiting writer). */
  readonly onAcked?: () => void;
  readonly onResendExhausted?: () => void;
  readonly onOverflow?: () => void;
}

export interface ReliableStats {
  framesSent: number;
  retransmissions: number;
  /** Frames re-sent in bulk after a reconnect. */
  replayed: number;
  acksSent: number;
  acksReceived: number;
  /** Stream frames received with a sequence number already delivered or buffered (re-acked). */
  duplicatesReceived: number;
  /** Acks for frames no longer buffered. */
  duplicateAcks: number;
  /** Frames received ahead of the expected sequence number and buffered. */
  outOfOrder: number;
  /** Future frames dropped because the incoming buffer was full. */
  droppedIncoming: number;
  /** Frames held behind a gap that `discardBehindGap` gave up on. */
  discardedBehindGap: number;
}
