/**
 * The client's data channel (spec §3, §4, §2.2): one WebSocket at a time to the StreamUrl, the
 * open-data-channel text message, frame decoding and digest checks, the reliable-delivery state
 * machine, keep-alive pings, and ResumeSession after the socket drops — the same ReliableChannel
 * (sequence numbers and buffers) carries on over the new socket, so nothing is lost or doubled.
 *
 * What it does not know: payload types, the handshake, the terminal. Stream messages go to
 * `deliver`; `channel_closed` to `onChannelClosed`; a failure it cannot recover from to `onFailed`.
 *
 * After channel_closed the channel has ended (no input, no resume), but output frames still
 * arriving on the socket are verified, acked and delivered until close() or until the socket goes
 * (`onLateFramesOver`): channel_closed is not sequenced (spec §6.4), so it can overtake output the
 * agent is still retransmitting, and the session waits for that output (output-gate.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { GatehouseError, asGatehouseError } from '../../domain/errors.js';
import type { ResumedSession } from './api.js';
import type { Clock, Timers } from './clock.js';
import { systemTimers } from './clock.js';
import { decodeAgentMessage, digestMatches, MessageType, type AgentMessage } from './codec.js';
import { CLIENT_VERSION, encodeOpenDataChannel, parseChannelClosedPayload, type ChannelClosed } from './messages.js';
import { ReliableChannel } from './reliable.js';
import { PLUGIN_RETRY_POLICY, withRetries, type RetryPolicy } from './retry.js';

export { PLUGIN_RETRY_POLICY } from './retry.js';
export type { RetryPolicy } from './retry.js';

export interface DataChannelOptions {
  readonly streamUrl: string;
  readonly tokenValue: string;
  /** Generated once per connector process; sent again on every reconnect. */
  readonly clientId: string;
  readonly logger: Logger;
  /** ResumeSession; a null token means the session is gone. */
  readonly resume: () => Promise<ResumedSession>;
  readonly deliver: (message: AgentMessage) => boolean;
  readonly onAcked: () => void;
  readonly onChannelClosed: (closed: ChannelClosed) => void;
  /** After channel_closed, the socket is gone: no late output frame can arrive any more. */
  readonly onLateFramesOver?: () => void;
  readonly onFailed: (error: GatehouseError) => void;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly resendIntervalMs?: number;
  readonly maxResendAttempts?: number;
  readonly retry?: RetryPolicy;
  /** WebSocket ping with payload "keepalive" at open and then at this interval. Default 5 min ([P]). */
  readonly keepaliveMs?: number;
  /** Consecutive malformed or unverifiable frames tolerated before the session fails. Default 50. */
  readonly maxProtocolErrors?: number;
  /** Extra `ws` client options (headers, agent). */
  readonly webSocketOptions?: WebSocket.ClientOptions;
}

export interface DataChannelStats {
  badDigests: number;
  malformed: number;
  resumes: number;
}

const SEND_OPTIONS = { binary: true } as const;
const CLOSE_BOUND_MS = 1000;

export class DataChannel {
  readonly reliable: ReliableChannel;
  readonly stats: DataChannelStats = { badDigests: 0, malformed: 0, resumes: 0 };
  private readonly o: DataChannelOptions;
  private readonly timers: Timers;
  private url: string;
  private ws: WebSocket | null = null;
  private ended = false;
  /** channel_closed arrived: still taking output frames from the socket (see above). */
  private takingLateFrames = false;
  private consecutiveErrors = 0;
  private stopKeepalive: () => void = () => {};

  constructor(options: DataChannelOptions) {
    this.o = options;
    this.url = options.streamUrl;
    this.timers = options.timers ?? systemTimers;
    this.reliable = new ReliableChannel({
      outgoingType: MessageType.InputStreamData,
      transmit: (frame) => this.transmit(frame),
      deliver: options.deliver,
      onAcked: options.onAcked,
      onResendExhausted: () => this.fail(new GatehouseError('GH_ERR_SSM', 'SSM data channel: a frame went unacknowledged through every resend')),
      onOverflow: () => this.fail(new GatehouseError('GH_ERR_SSM', 'SSM data channel: outgoing buffer full')),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
      ...(options.resendIntervalMs !== undefined ? { resendIntervalMs: options.resendIntervalMs } : {}),
      ...(options.maxResendAttempts !== undefined ? { maxResendAttempts: options.maxResendAttempts } : {}),
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Opens the first socket, retrying with the original token ([P] Open). Rejects GH_ERR_UPSTREAM_CONNECT. */
  async connect(): Promise<void> {
    const token = this.o.tokenValue;
    const ws = await this.withRetries('connect', () => this.openSocket(this.url, token));
    if (ws === null) throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'SSM data channel closed while connecting');
    this.adopt(ws);
  }

  /** Sequences and sends one stream message; false when the session has ended or overflowed. */
  send(payloadType: number, payload: Uint8Array): boolean {
    if (this.ended) return false;
    return this.reliable.send(payloadType, payload) >= 0;
  }

  /** Ends the channel on our side (no resume). Resolves once the socket is closed, or after 1 s. */
  async close(): Promise<void> {
    this.ended = true;
    this.takingLateFrames = false;
    this.reliable.dispose();
    this.stopKeepalive();
    const ws = this.ws;
    this.ws = null;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const cancel = this.timers.after(CLOSE_BOUND_MS, () => {
        ws.terminate();
        resolve();
      });
      ws.once('close', () => {
        cancel();
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close();
    });
  }

  private transmit(frame: Buffer): void {
    const ws = this.ws;
    if (ws !== null && ws.readyState === WebSocket.OPEN) ws.send(frame, SEND_OPTIONS);
  }

  private openSocket(url: string, token: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000, ...this.o.webSocketOptions });
      ws.binaryType = 'nodebuffer';
      const onError = (err: Error): void => {
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
      };
      ws.once('error', onError);
      ws.once('close', () => onError(new Error('socket closed during open')));
      ws.once('open', () => {
        ws.removeAllListeners();
        ws.send(encodeOpenDataChannel({ requestId: randomUUID(), tokenValue: token, clientId: this.o.clientId, clientVersion: CLIENT_VERSION }));
        resolve(ws);
      });
    });
  }

  /** Makes `ws` the live socket: wires its events, starts keep-alive, resends what is un-acked. */
  private adopt(ws: WebSocket): void {
    if (this.ended) {
      ws.terminate();
      return;
    }
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('error', (err) => this.o.logger.debug({ err }, 'ssm data channel socket error'));
    ws.on('close', (code: number) => this.onSocketClosed(ws, code));
    this.stopKeepalive();
    const ping = (): void => {
      if (ws.readyState === WebSocket.OPEN) ws.ping('keepalive');
    };
    ping();
    this.stopKeepalive = this.timers.every(this.o.keepaliveMs ?? 300_000, ping);
    this.reliable.linkUp();
  }

  private onFrame(data: Buffer): void {
    if (this.ended && !this.takingLateFrames) return;
    let message: AgentMessage;
    try {
      message = decodeAgentMessage(data);
    } catch (err) {
      this.stats.malformed++;
      this.protocolError(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL'));
      return;
    }
    if (this.takingLateFrames && message.messageType !== MessageType.OutputStreamData) return;
    switch (message.messageType) {
      case MessageType.ChannelClosed:
        // Not acked, not sequenced; a digest mismatch here is tolerated (spec §5.3).
        if (!digestMatches(message)) this.o.logger.warn('ssm channel_closed with a bad digest; accepted');
        this.ended = true;
        this.takingLateFrames = true;
        this.o.onChannelClosed(parseChannelClosedPayload(message.payload));
        return;
      case MessageType.StartPublication:
        this.reliable.startPublication();
        return;
      case MessageType.PausePublication:
        this.reliable.pausePublication();
        return;
      case MessageType.Acknowledge:
      case MessageType.OutputStreamData:
        if (!digestMatches(message)) {
          // Dropped un-acked: the agent retransmits the frame intact.
          this.stats.badDigests++;
          this.protocolError(new GatehouseError('GH_ERR_SSM_PROTOCOL', `payload digest mismatch on ${message.messageType} seq ${message.sequenceNumber}`));
          return;
        }
        try {
          this.reliable.receive(message);
          this.consecutiveErrors = 0;
        } catch (err) {
          this.protocolError(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL'));
        }
        return;
      default:
        this.o.logger.debug({ messageType: message.messageType }, 'ssm data channel: ignoring message type');
    }
  }

  private protocolError(err: GatehouseError): void {
    this.consecutiveErrors++;
    this.o.logger.warn({ err: err.message }, 'ssm data channel: rejected frame');
    if (this.consecutiveErrors >= (this.o.maxProtocolErrors ?? 50)) {
      this.fail(new GatehouseError('GH_ERR_SSM_PROTOCOL', `SSM data channel: ${this.consecutiveErrors} bad frames in a row; last: ${err.message}`));
    }
  }

  private onSocketClosed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.stopKeepalive();
    this.reliable.linkDown();
    if (this.takingLateFrames) {
      this.takingLateFrames = false;
      this.o.onLateFramesOver?.();
    }
    if (this.ended) return;
    this.o.logger.info({ code }, 'ssm data channel dropped; resuming session');
    void this.resumeSession();
  }

  private async resumeSession(): Promise<void> {
    try {
      const ws = await this.withRetries('resume', async () => {
        const resumed = await this.o.resume();
        if (resumed.tokenValue === null) {
          throw new GatehouseError('GH_ERR_SSM', 'SSM session timed out: ResumeSession returned no token', { permanent: true });
        }
        // Newer plugins use the StreamUrl ResumeSession returns; older ones the original.
        if (resumed.streamUrl !== undefined) this.url = resumed.streamUrl;
        return this.openSocket(this.url, resumed.tokenValue);
      });
      if (ws === null) return;
      this.stats.resumes++;
      this.adopt(ws);
      this.o.logger.info({ resumes: this.stats.resumes, unacked: this.reliable.unackedCount }, 'ssm data channel resumed');
    } catch (err) {
      this.fail(asGatehouseError(err, 'GH_ERR_SSM'));
    }
  }

  /** [P] retryer (retry.ts), stopping once this channel has ended. */
  private withRetries(what: string, attempt: () => Promise<WebSocket>): Promise<WebSocket | null> {
    return withRetries(what, attempt, { policy: this.o.retry ?? PLUGIN_RETRY_POLICY, timers: this.timers, logger: this.o.logger, isEnded: () => this.ended });
  }

  private fail(error: GatehouseError): void {
    if (this.ended) return;
    this.ended = true;
    this.o.onFailed(error);
  }
}
