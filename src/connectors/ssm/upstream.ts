/**
 * One SSM session as an `Upstream`: the terminal semantics on top of the data channel.
 *
 *  - Session type: the first sequenced message decides ([P] ProcessFirstMessage). Output (1) means
 *    a plain stream with no handshake; HandshakeRequest (5) means the handshake runs first, and no
 *    size or keystroke is sent before HandshakeComplete (the agent would ack and discard them).
 *    With no KMS expected, `firstMessageTimeoutMs` of silence starts a plain stream; a
 *    HandshakeRequest after that queues input again and the size is re-sent once it completes.
 *  - Input (input-path.ts): keystrokes, Size at start and on every resize, signals as control
 *    bytes, write() backpressure over un-acked input.
 *  - Output (output-gate.ts): PayloadType 1 → sink.data, 11 → sink.stderr, 12 ("EXIT_CODE: n") →
 *    the exit code; held until the caller has the Upstream, bounded queue then un-acked while paused.
 *  - End: channel_closed → sink.exit + sink.closed; close() → TerminateSession + socket closed.
 */
import type { Upstream } from '../types.js';
import { GatehouseError, asGatehouseError } from '../../domain/errors.js';
import { terminateWithin } from './api.js';
import type { Timers } from './clock.js';
import { systemTimers } from './clock.js';
import { PayloadType, type AgentMessage } from './codec.js';
import { DataChannel } from './data-channel.js';
import { SessionType } from './handshake.js';
import { HandshakeDriver } from './handshake-driver.js';
import { InputPath } from './input-path.js';
import type { ChannelClosed } from './messages.js';
import { OutputGate } from './output-gate.js';
import type { SsmUpstreamOptions } from './upstream-options.js';

export type { SsmUpstreamOptions } from './upstream-options.js';

type Phase = 'awaiting-first' | 'handshake' | 'ready' | 'ended';

export class SsmUpstream implements Upstream {
  readonly channel: DataChannel;
  private readonly handshake: HandshakeDriver;
  /** Holds output until the caller has this Upstream, and while it has paused us. */
  private readonly output: OutputGate;
  private readonly input: InputPath;
  private readonly o: SsmUpstreamOptions;
  private readonly timers: Timers;
  private phase: Phase = 'awaiting-first';
  private exitCode: number | null = null;
  private cancelPhaseTimer: () => void = () => {};
  private closing: Promise<void> | null = null;
  private closedCalled = false;
  private deferredClosed: { error: GatehouseError | undefined } | null = null;
  private settle: { resolve: () => void; reject: (e: GatehouseError) => void } | null = null;

  constructor(options: SsmUpstreamOptions) {
    this.o = options;
    this.timers = options.timers ?? systemTimers;
    this.channel = new DataChannel({
      ...options.channel,
      logger: options.logger,
      resume: () => options.api.resumeSession(options.ssmSessionId),
      deliver: (m) => this.deliver(m),
      onAcked: () => this.input.onAcked(),
      onChannelClosed: (c) => this.onChannelClosed(c),
      onLateFramesOver: () => this.output.stopWaitingForGap(),
      onFailed: (e) => void this.fail(e),
    });
    this.handshake = new HandshakeDriver({
      context: {
        sessionId: options.ssmSessionId,
        targetId: options.targetId,
        region: options.region,
        dataKeyProvider: options.dataKeyProvider,
        acknowledgeChallenge: options.acknowledgeKmsChallenge,
      },
      expectKms: options.expectKms,
      logger: options.logger,
      send: (type, payload) => this.channel.send(type, payload),
      onComplete: (message) => this.becomeReady(message !== '' ? message : 'handshake complete'),
      onFail: (e) => void this.fail(e),
    });
    this.output = new OutputGate({
      sink: options.sink,
      pauseBufferBytes: options.pauseBufferBytes ?? 256 * 1024,
      flushReliable: () => this.channel.reliable.flush(),
      heldInReliable: () => this.channel.reliable.bufferedIncoming,
      onExitCode: (code) => {
        this.exitCode = code;
      },
      onDeferredClose: (closed) => this.onChannelClosed(closed),
      discardBehindGap: () => this.channel.reliable.discardBehindGap(),
      onGapAbandoned: (dropped) => {
        this.o.logger.warn({ dropped, missing: this.channel.reliable.expectedSequenceNumber }, 'ssm: output missing at channel_closed; frames after the gap dropped');
      },
      closeGraceMs: options.closeGraceMs ?? 2000,
      timers: this.timers,
    });
    this.input = new InputPath({
      send: (type, payload) => this.channel.send(type, payload),
      unackedBytes: () => this.channel.reliable.unackedBytes,
      cipher: () => this.handshake.cipher,
      drain: () => options.sink.drain(),
      logger: options.logger,
      highWaterBytes: options.highWaterBytes ?? 256 * 1024,
      size: options.pty !== undefined ? { cols: options.pty.cols, rows: options.pty.rows } : null,
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
    if (!this.output.isGated) return;
    if (this.deferredClosed !== null) {
      // It ended before the caller had it: report that, not stale output.
      if (!this.closedCalled) {
        this.closedCalled = true;
        this.o.sink.closed(this.deferredClosed.error);
      }
      return;
    }
    this.output.open();
  }

  write(chunk: Buffer): boolean {
    return this.input.write(chunk);
  }

  endInput(): void {
    this.input.endInput();
  }

  resize(cols: number, rows: number): void {
    this.input.resize(cols, rows);
  }

  signal(name: string): void {
    this.input.signal(name);
  }

  pause(): void {
    this.output.pause();
  }

  resume(): void {
    this.output.resume();
  }

  close(reason: string): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.o.logger.info({ reason }, 'ssm: closing session');
    this.closing = this.shutdown(undefined, true);
    return this.closing;
  }

  /** For an open that failed or was aborted: end everything, but the sink hears nothing (the caller got the rejection). */
  abandon(reason: string): Promise<void> {
    this.closedCalled = true;
    return this.close(reason);
  }

  private deliver(m: AgentMessage): boolean {
    switch (m.payloadType) {
      case PayloadType.Output:
      case PayloadType.StdErr:
      case PayloadType.ExitCode:
        return this.deliverOutput(m);
      case PayloadType.HandshakeRequest:
        if (this.phase === 'ready') {
          this.o.logger.warn('ssm: handshake began after input had started; input sent before it was discarded by the agent');
          this.input.hold();
        }
        this.phase = 'handshake';
        this.cancelPhaseTimer();
        this.cancelPhaseTimer = this.timers.after(this.o.handshakeTimeoutMs ?? 30_000, () => {
          if (this.phase === 'handshake') void this.fail(new GatehouseError('GH_ERR_SSM', 'SSM handshake timed out'));
        });
        return this.handshake.handle(m.payloadType, m.payload);
      default:
        if (!this.handshake.handle(m.payloadType, m.payload)) this.o.logger.debug({ payloadType: m.payloadType }, 'ssm: ignoring payload type');
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
    if (!this.output.canTake()) return false;
    let payload = m.payload;
    const cipher = this.handshake.cipher;
    if (cipher !== null) {
      try {
        payload = cipher.decrypt(payload);
      } catch (err) {
        void this.fail(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL'));
        return true;
      }
    }
    this.output.take(m.payloadType, payload);
    return true;
  }

  private becomeReady(why: string): void {
    if (this.phase === 'ready' || this.phase === 'ended') return;
    this.phase = 'ready';
    this.cancelPhaseTimer();
    this.o.logger.debug({ why }, 'ssm session ready');
    this.settle?.resolve();
    this.settle = null;
    this.input.start();
  }

  private onChannelClosed(closed: ChannelClosed): void {
    if (this.phase === 'ended') return;
    if (this.settle !== null) {
      void this.fail(new GatehouseError('GH_ERR_SSM', `SSM session closed while starting${closed.output !== '' ? `: ${closed.output}` : ''}`));
      return;
    }
    // Output the sink has not taken yet goes first; the gate calls back here when it has.
    if (this.output.holdClose(closed)) return;
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
    this.handshake.stop();
    this.input.stop();
    this.output.stop();
    // A connect() still waiting for the session to settle must not wait forever.
    this.settle?.reject(error ?? new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'SSM session closed while connecting'));
    this.settle = null;
    const work: Promise<unknown>[] = [this.channel.close()];
    if (terminate) work.push(this.terminate());
    await Promise.all(work);
    if (this.closedCalled) return;
    if (this.output.isGated) {
      // The caller does not hold the Upstream yet; openGate() reports the end.
      this.deferredClosed = { error };
      return;
    }
    this.closedCalled = true;
    this.o.sink.closed(error);
  }

  private terminate(): Promise<void> {
    return terminateWithin(this.o.api, this.o.ssmSessionId, this.o.terminateTimeoutMs ?? 5000, this.timers, this.o.logger);
  }
}
