/**
 * Client → agent: keystrokes as input_stream_data PayloadType 1 (≤ 1024 bytes a frame, encrypted
 * once KMS is agreed), the terminal size at start and on every resize, signals as their control
 * bytes, and write() backpressure over the un-acked input. Until the session type is settled,
 * input is queued: the agent would ack and discard it during a handshake.
 */
import type { Logger } from 'pino';
import { PayloadType } from './codec.js';
import type { BlockCipher } from './kms.js';
import { encodeSizePayload } from './messages.js';

/** Largest input payload per frame; both endpoints stay at ~1 KiB (spec §12 unknowns). */
const MAX_INPUT_FRAME = 1024;
/** Control bytes for signals ([P] sessionutil/control_signals_unix.go). */
const SIGNAL_BYTES: Readonly<Record<string, Buffer>> = {
  INT: Buffer.from([0x03]),
  QUIT: Buffer.from([0x1c]),
  TSTP: Buffer.from([0x1a]),
};
const EOT = Buffer.from([0x04]);

export interface InputPathOptions {
  /** Sequences and sends one stream message. */
  readonly send: (payloadType: number, payload: Uint8Array) => void;
  readonly unackedBytes: () => number;
  readonly cipher: () => BlockCipher | null;
  /** The sink's drain(): room again after write() returned false. */
  readonly drain: () => void;
  readonly logger: Logger;
  /** write() returns false at or above this many un-acked (or queued) bytes. */
  readonly highWaterBytes: number;
  /** The client's terminal, when it has one. */
  readonly size: { readonly cols: number; readonly rows: number } | null;
}

export class InputPath {
  private readonly o: InputPathOptions;
  private state: 'queueing' | 'live' | 'ended' = 'queueing';
  private size: { cols: number; rows: number } | null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private wantDrain = false;
  private inputEnded = false;

  constructor(options: InputPathOptions) {
    this.o = options;
    this.size = options.size === null ? null : { ...options.size };
  }

  /** The session type is settled: send the size, then everything queued. */
  start(): void {
    if (this.state !== 'queueing') return;
    this.state = 'live';
    if (this.size !== null) this.o.send(PayloadType.Size, encodeSizePayload(this.size.cols, this.size.rows));
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of pending) this.sendChunk(chunk);
    this.onAcked();
  }

  /**
   * A handshake began after input had started (a HandshakeRequest later than the first-message
   * wait): queue again, because the agent discards input until HandshakeComplete (spec §8.2);
   * start() then re-sends the size. What was sent before the request arrived is lost.
   */
  hold(): void {
    if (this.state === 'live') this.state = 'queueing';
  }

  stop(): void {
    this.state = 'ended';
    this.pending = [];
  }

  write(chunk: Buffer): boolean {
    if (this.state === 'ended' || chunk.length === 0) return true;
    if (this.state === 'queueing') {
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      return this.checkWindow(this.pendingBytes);
    }
    this.sendChunk(chunk);
    return this.checkWindow(this.o.unackedBytes());
  }

  /** EOF on a PTY is ^D; AWS-StartInteractiveCommand always runs its command in a PTY. */
  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.write(EOT);
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.state === 'live') this.o.send(PayloadType.Size, encodeSizePayload(cols, rows));
  }

  /** INT, QUIT and TSTP travel as their control bytes; SSM has no way to deliver any other signal. */
  signal(name: string): void {
    const bytes = SIGNAL_BYTES[name.replace(/^SIG/, '')];
    if (bytes === undefined) {
      this.o.logger.warn({ signal: name }, 'ssm: signal cannot be delivered over Session Manager; ignored');
      return;
    }
    this.write(bytes);
  }

  /** An ack freed room: drain() once the un-acked input is back under half the high-water mark. */
  onAcked(): void {
    if (this.wantDrain && this.state === 'live' && this.o.unackedBytes() <= this.o.highWaterBytes / 2) {
      this.wantDrain = false;
      this.o.drain();
    }
  }

  private checkWindow(bytes: number): boolean {
    if (bytes < this.o.highWaterBytes) return true;
    this.wantDrain = true;
    return false;
  }

  private sendChunk(chunk: Buffer): void {
    const cipher = this.o.cipher();
    for (let at = 0; at < chunk.length; at += MAX_INPUT_FRAME) {
      const piece = at === 0 && chunk.length <= MAX_INPUT_FRAME ? chunk : chunk.subarray(at, at + MAX_INPUT_FRAME);
      this.o.send(PayloadType.Output, cipher !== null ? cipher.encrypt(piece) : piece);
    }
  }
}
