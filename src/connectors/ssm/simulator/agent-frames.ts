/**
 * The simulated agent's two unsequenced control frames, as bytes: channel_closed (canonical, or
 * the 112-byte-header NUL-padded variant of spec §5.3) and a deliberately malformed
 * start_publication (spec §5.3, §12). Encoders that hold no session state (they read only the
 * clock and a fresh message id), apart from agent.ts because they carry the wire quirks a client
 * must tolerate, not the session's behaviour.
 */
import { randomUUID } from 'node:crypto';
import { encodeAgentMessage, MessageType, PayloadType } from '../codec.js';
import { encodeChannelClosedPayload } from '../messages.js';

export interface ChannelClosedFrame {
  readonly sessionId: string;
  readonly targetId: string;
  /** Why the session ended, for the client; '' for a normal end. */
  readonly output: string;
  readonly variant: 'canonical' | 'short';
}

/** channel_closed for the session: not sequenced, not acked. */
export function encodeChannelClosedFrame(c: ChannelClosedFrame): Buffer {
  const payload = encodeChannelClosedPayload({
    messageId: randomUUID(),
    createdDate: new Date().toISOString(),
    destinationId: c.targetId,
    sessionId: c.sessionId,
    schemaVersion: 1,
    output: c.output,
  });
  const short = c.variant === 'short';
  return encodeAgentMessage(
    { messageType: MessageType.ChannelClosed, createdDate: Date.now(), sequenceNumber: 0, flags: 0, payloadType: PayloadType.None, payload },
    short ? { headerLength: 112, padding: 'nul' } : undefined,
  );
}

/** A deliberately malformed start_publication (zero CreatedDate and digest): clients must accept it. */
export function encodeMalformedStartPublication(): Buffer {
  return encodeAgentMessage(
    { messageType: MessageType.StartPublication, createdDate: 0, sequenceNumber: 0, flags: 0, payloadType: PayloadType.None, payload: new Uint8Array(0) },
    { digest: new Uint8Array(32) },
  );
}
