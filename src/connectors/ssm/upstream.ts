/**
 * One SSM session as an `Upstream`: the terminal semantics on top of the data channel.
 *
 *  - Session type: the first sequenced message decides ([P] ProcessFirstMessage). Output (1) means
 *    a plain stream with no handshake; HandshakeRequest (5) means the handshake runs first, and no
 *    size or keystroke is sent before HandshakeComplete (the agent would ack and discard them).
 *  - Input: keystrokes as input_stream_data PayloadType 1 (≤ 1024 bytes a frame, encrypted under
 *    KMS), a Size message at start and on every resize, signals as their control bytes.
 *  - Output: PayloadType 1 → sink.data, 11 → sink.stderr, 12 ("EXIT_CODE: n") → the exit code.
 *  - Backpressure: pause() leaves output frames un-acked in the reliable layer (the agent's
 *    retransmission governs); write() returns false while the un-acked window is over the high-water
 *    mark, and sink.drain() follows when acks bring it under the low-water mark.
 *  - End: channel_closed → sink.exit + sink.closed; close() → TerminateSession + socket closed.
 */
import type { Logger } from 'pino';
import type { PtySpec, Upstream, UpstreamSink } from '../types.js';
import { GatehouseError, asGatehouseError } from '../../domain/errors.js';
import type { SsmApi } from './api.js';
import type { Timers } from './clock.js';
import { systemTimers } from './clock.js';
import { PayloadType, type AgentMessage } from './codec.js';
import { DataChannel, type DataChannelOptions } from './data-channel.js';
import { answerEncChallenge, answerHandshakeRequest, parseHandshakeComplete, parseHandshakeRequest, SessionType } from './handshake.js';
import type { BlockCipher, DataKeyProvider } from './kms.js';
import { encodeSizePayload, parseExitCodePayload, type ChannelClosed } from './messages.js';

/** Largest input payload per frame; both endpoints stay at ~1 KiB (spec §12 unknowns). */
const MAX_INPUT_FRAME = 1024;
/** Control bytes for signals ([P] sessionutil/control_signals_unix.go). */
const SIGNAL_BYTES: Readonly<Record<string, Buffer>> = {
  INT: Buffer.from([0x03]),
  QUIT: Buffer.from([0x1c]),
  TSTP: Buffer.from([0x1a]),
};
const EOT = Buffer.from([0x04]);

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
  /** Bound on the TerminateSession call in close(). Default 5 s. */
  readonly terminateTimeoutMs?: number;
  readonly timers?: Timers;
  /** Transport wiring (URL, token, retry, resend tuning); callbacks are supplied here. */
  readonly channel: Omit<DataChannelOptions, 'logger' | 'resume' | 'deliver' | 'onAcked' | 'onChannelClosed' | 'onFailed'>;
}

type Phase = 'awaiting-first' | 'handshake' | 'ready' | 'ended';

export class SsmUpstream implements Upstream {
  readonly channel: DataChannel;
  private readonly o: SsmUpstreamOptions;
  private readonly timers: Timers;
  private readonly highWater: number;
  private phase: Phase = 'awaiting-first';
  private paused = false;
  private wantDrain = false;
  private cipher: BlockCipher | null = null;
  private exitCode: number | null = null;
  private size: { cols: number; rows: number } | null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inputEnded = false;
  private handshakeSteps: Promise<void> = Promise.resolve();
  private cancelPhaseTimer: () => void = () => {};
  private closing: Promise<void> | null = null;
  private closedCalled = false;
  /** Until the caller holds this Upstream, output is held (un-acked) and the sink is not called. */
  private gated = true;
  private heldClose: ChannelClosed | null = null;
  private deferredClosed: { error: GatehouseError | undefined } | null = null;
  private settle: { resolve: () => void; reject: (e: GatehouseError) => void } | null = null;

  constructor(options: SsmUpstreamOptions) {
    this.o = options;
    this.timers = options.timers ?? systemTimers;
    this.highWater = options.highWaterBytes ?? 256 * 1024;
    this.size = options.pty !== undefined ? { cols: options.pty.cols, rows: options.pty.rows } : null;
    this.channel = new DataChannel({
      ...options.channel,
      logger: options.logger,
      resume: () => options.api.resumeSession(options.ssmSessionId),
      deliver: (m) => this.deliver(m),
      onAcked: () => this.onAcked(),
      onChannelClosed: (c) => this.onChannelClosed(c),
      onFailed: (e) => void this.fail(e),
    });
  }

  /**
   * Opens the data channel and resolves once the session type is settled: the first output (plain
   * stream), HandshakeComplete (handshake), or — no KMS expected — `firstMessageTimeoutMs` of
   * silence. A failed handshake rejects here, so `open()` rejects rather than closing later.
   */
  async connect(): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    await this.channel.connect();
    const ms = this.o.expectKms ? (this.o.handshakeTimeoutMs ?? 30_000) : (this.o.firstMessageTimeoutMs ?? 1000);
    this.cancelPhaseTimer = this.timers.after(ms, () => {
      if (this.phase !== 'awaiting-first') return;
      if (this.o.expectKms) void this.fail(new GatehouseError('GH_ERR_SSM', 'SSM handshake did not start in time'));
      else this.becomeReady('no first message yet; assuming a plain stream');
    });
    await settled;
  }

  /** The caller now holds this Upstream: deliver held output and let the sink hear the end. */
  openGate(): void {
    if (!this.gated) return;
    this.gated = false;
    if (this.deferredClosed !== null && !this.closedCalled) {
      this.closedCalled = true;
      this.o.sink.closed(this.deferredClosed.error);
      return;
    }
    if (this.heldClose !== null) {
      const held = this.heldClose;
      this.heldClose = null;
      this.channel.reliable.flush();
      this.onChannelClosed(held);
      return;
    }
    if (!this.paused) this.channel.reliable.flush();
  }

  write(chunk: Buffer): boolean {
    if (this.phase === 'ended' || chunk.length === 0) return true;
    if (this.phase !== 'ready') {
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      return this.checkWindow(this.pendingBytes);
    }
    this.sendInput(chunk);
    return this.checkWindow(this.channel.reliable.unackedBytes);
  }

  /** EOF on a PTY is ^D; AWS-StartInteractiveCommand always runs its command in a PTY. */
  endInput(): void {
    if (this.inputEnded) return;
    this.inputEnded = true;
    this.write(EOT);
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows };
    if (this.phase === 'ready') this.channel.send(PayloadType.Size, encodeSizePayload(cols, rows));
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

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.gated) this.channel.reliable.flush();
  }

  close(reason: string): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.o.logger.info({ reason }, 'ssm: closing session');
    this.closing = this.shutdown(undefined, true);
    return this.closing;
  }

  /** For an open that failed or was aborted: end everything, but the sink hears nothing (the caller got the rejection). */
  abandon(reason: string): Promise<void> {
    this.gated = true;
    this.closedCalled = true;
    return this.close(reason);
  }

  private checkWindow(bytes: number): boolean {
    if (bytes < this.highWater) return true;
    this.wantDrain = true;
    return false;
  }

  private onAcked(): void {
    if (this.wantDrain && this.phase === 'ready' && this.channel.reliable.unackedBytes <= this.highWater / 2) {
      this.wantDrain = false;
      this.o.sink.drain();
    }
  }

  private sendInput(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += MAX_INPUT_FRAME) {
      const piece = at === 0 && chunk.length <= MAX_INPUT_FRAME ? chunk : chunk.subarray(at, at + MAX_INPUT_FRAME);
      this.channel.send(PayloadType.Output, this.cipher !== null ? this.cipher.encrypt(piece) : piece);
    }
  }

  private deliver(m: AgentMessage): boolean {
    switch (m.payloadType) {
      case PayloadType.Output:
      case PayloadType.StdErr:
      case PayloadType.ExitCode:
        return this.deliverOutput(m);
      case PayloadType.HandshakeRequest:
        this.phase = 'handshake';
        this.cancelPhaseTimer();
        this.cancelPhaseTimer = this.timers.after(this.o.handshakeTimeoutMs ?? 30_000, () => {
          if (this.phase === 'handshake') void this.fail(new GatehouseError('GH_ERR_SSM', 'SSM handshake timed out'));
        });
        this.step(() => this.onHandshakeRequest(m.payload));
        return true;
      case PayloadType.EncChallengeRequest:
        this.step(() => {
          if (this.cipher === null) throw new GatehouseError('GH_ERR_SSM_PROTOCOL', 'EncChallengeRequest before a KMS data key was agreed');
          this.channel.send(PayloadType.EncChallengeResponse, answerEncChallenge(m.payload, this.cipher));
        });
        return true;
      case PayloadType.HandshakeComplete:
        this.step(() => {
          const done = parseHandshakeComplete(m.payload);
          if (this.o.expectKms && this.cipher === null) throw new GatehouseError('GH_ERR_SSM', 'SSM handshake completed without KMS encryption, which this target requires');
          this.becomeReady(done.CustomerMessage !== '' ? done.CustomerMessage : 'handshake complete');
        });
        return true;
      default:
        this.o.logger.debug({ payloadType: m.payloadType }, 'ssm: ignoring payload type');
        return true;
    }
  }

  private deliverOutput(m: AgentMessage): boolean {
    if (this.phase === 'ended') return true;
    if (this.phase === 'awaiting-first') {
      if (this.o.expectKms) {
        void this.fail(new GatehouseError('GH_ERR_SSM', 'SSM agent started an unencrypted session, but this target expects KMS encryption'));
        return true;
      }
      this.becomeReady(SessionType.StandardStream);
    }
    if (this.paused || this.gated) return false;
    let payload = m.payload;
    if (this.cipher !== null) {
      try {
        payload = this.cipher.decrypt(payload);
      } catch (err) {
        void this.fail(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL'));
        return true;
      }
    }
    if (m.payloadType === PayloadType.Output) this.o.sink.data(payload);
    else if (m.payloadType === PayloadType.StdErr) this.o.sink.stderr(payload);
    else this.exitCode = parseExitCodePayload(payload);
    return true;
  }

  /** Handshake steps run in order even though the data-key call is asynchronous. */
  private step(fn: () => void | Promise<void>): void {
    this.handshakeSteps = this.handshakeSteps.then(async () => {
      if (this.phase !== 'ended') await fn();
    }).catch((err: unknown) => this.fail(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL')));
  }

  private async onHandshakeRequest(payload: Buffer): Promise<void> {
    const request = parseHandshakeRequest(payload);
    this.o.logger.debug({ agentVersion: request.AgentVersion, actions: request.RequestedClientActions.map((a) => a.ActionType) }, 'ssm handshake request');
    const outcome = await answerHandshakeRequest(payload, {
      sessionId: this.o.ssmSessionId,
      targetId: this.o.targetId,
      region: this.o.region,
      dataKeyProvider: this.o.dataKeyProvider,
      acknowledgeChallenge: this.o.acknowledgeKmsChallenge,
    });
    this.cipher = outcome.cipher;
    this.channel.send(PayloadType.HandshakeResponse, outcome.response);
    if (outcome.error !== null) throw outcome.error;
  }

  private becomeReady(why: string): void {
    if (this.phase === 'ready' || this.phase === 'ended') return;
    this.phase = 'ready';
    this.cancelPhaseTimer();
    this.o.logger.debug({ why }, 'ssm session ready');
    this.settle?.resolve();
    this.settle = null;
    if (this.size !== null) this.channel.send(PayloadType.Size, encodeSizePayload(this.size.cols, this.size.rows));
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const chunk of pending) this.sendInput(chunk);
    this.onAcked();
  }

  private onChannelClosed(closed: ChannelClosed): void {
    if (this.phase === 'ended') return;
    if (this.gated) {
      this.heldClose = closed;
      if (this.settle !== null) void this.fail(new GatehouseError('GH_ERR_SSM', `SSM session closed while starting${closed.output !== '' ? `: ${closed.output}` : ''}`));
      return;
    }
    this.o.logger.info({ output: closed.output }, 'ssm channel_closed');
    this.phase = 'ended';
    this.o.sink.exit({ code: this.exitCode, signal: null });
    this.closing ??= this.shutdown(undefined, false);
  }

  private fail(error: GatehouseError): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.o.logger.warn({ err: error.message, code: error.code }, 'ssm session failed');
    this.settle?.reject(error);
    this.settle = null;
    // Terminate on AWS's side too, so a half-dead session does not linger there.
    this.closing = this.shutdown(error, true);
    return this.closing;
  }

  private async shutdown(error: GatehouseError | undefined, terminate: boolean): Promise<void> {
    this.phase = 'ended';
    this.cancelPhaseTimer();
    // A connect() still waiting for the session to settle must not wait forever.
    this.settle?.reject(error ?? new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'SSM session closed while connecting'));
    this.settle = null;
    const work: Promise<unknown>[] = [this.channel.close()];
    if (terminate) work.push(this.terminate());
    await Promise.all(work);
    if (this.closedCalled) return;
    if (this.gated) {
      // The caller does not hold the Upstream yet; openGate() reports the end.
      this.deferredClosed = { error };
      return;
    }
    this.closedCalled = true;
    this.o.sink.closed(error);
  }

  private terminate(): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = this.timers.after(this.o.terminateTimeoutMs ?? 5000, () => {
        this.o.logger.warn('ssm TerminateSession did not answer in time');
        resolve();
      });
      this.o.api.terminateSession(this.o.ssmSessionId).then(
        () => { cancel(); resolve(); },
        (err: unknown) => {
          cancel();
          this.o.logger.warn({ err: (err as Error).message }, 'ssm TerminateSession failed');
          resolve();
        },
      );
    });
  }
}
