/**
 * What an SSM session (upstream.ts) is built from: its AWS identity, the sink, KMS expectations,
 * and the timing and buffer knobs with their defaults. A separate file so the options can be read
 * on their own and imported as a type; upstream.ts re-exports SsmUpstreamOptions.
 */
import type { Logger } from 'pino';
import type { PtySpec, UpstreamSink } from '../types.js';
import type { SsmApi } from './api.js';
import type { Timers } from './clock.js';
import type { DataChannelOptions } from './data-channel.js';
import type { DataKeyProvider } from './kms.js';

export interface SsmUpstreamOptions {
  readonly ssmSessionId: string;
  /** StartSession's Target: the instance id. */
  readonly targetId: string;
  readonly region: string;
  readonly api: SsmApi;
  readonly sink: UpstreamSink;
  readonly logger: Logger;
  readonly pty: PtySpec | undefined;
  /** The target expects KMS encryption: wait for the handshake, and refuse a session without one. */
  readonly expectKms: boolean;
  readonly dataKeyProvider: DataKeyProvider | undefined;
  readonly acknowledgeKmsChallenge: boolean;
  /** With no KMS expected and no first message yet, start as a plain stream after this. Default 1000 ms. */
  readonly firstMessageTimeoutMs?: number;
  /** The handshake must complete within this. Default 30 s (the agent gives each step 15 s). */
  readonly handshakeTimeoutMs?: number;
  /** write() returns false above this many un-acked input bytes. Default 256 KiB. */
  readonly highWaterBytes?: number;
  /** Output acked and held while paused, before frames are left un-acked. Default 256 KiB. */
  readonly pauseBufferBytes?: number;
  /**
   * After channel_closed, how long output frames that fill a sequence gap are still awaited before
   * what follows the gap is dropped and the session ends. Default 2 s: the agent itself waits at
   * most 2 s for its output to be acked before it closes (spec §10.1), and with the RTO capped at
   * 1 s (§7.3) a frame it was still retransmitting arrives well within that.
   */
  readonly closeGraceMs?: number;
  /** Bound on the TerminateSession call in close(). Default 5 s. */
  readonly terminateTimeoutMs?: number;
  readonly timers?: Timers;
  /** Transport wiring (URL, token, retry, resend tuning); callbacks are supplied here. */
  readonly channel: Omit<DataChannelOptions, 'logger' | 'resume' | 'deliver' | 'onAcked' | 'onChannelClosed' | 'onLateFramesOver' | 'onFailed'>;
}
