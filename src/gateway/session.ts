/**
 * One live session: a responder's SSH channel joined to one target under one grant, recorded, and
 * ended exactly once for exactly one reason. The session owns the lifecycle; the data plumbing
 * and its backpressure live in relay.ts, the SSH request handling in channel.ts, and what the
 * session writes to the store and the audit log (rows, events) is built in session-records.ts.
 *
 *   starting ──(recording + upstream open)──► live ──(exit | kill | expiry | revoke | ...)──► ended
 *
 * Ending closes the client side first (the message, the exit status, the channel), then the
 * upstream, in parallel, so a revoke is felt on both sockets within milliseconds; the recording is
 * closed last so it holds everything that was relayed.
 */
import type { Logger } from 'pino';
import type { ServerChannel } from 'ssh2';
import type { Connector, ExitStatus, Upstream } from '../connectors/types.js';
import type { Clock } from '../domain/clock.js';
import { asGatehouseError, GatehouseError } from '../domain/errors.js';
import type { EndReason, Session } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { Recorder } from '../recording/remote.js';
import type { CastSummary } from '../recording/writer.js';
import type { Decision } from '../policy/index.js';
import type { RecordingRow } from '../store/ports.js';
import type { Watched } from '../monitor/watchdog.js';
import { commitWithRetry } from './commit-retry.js';
import { BROKER_EXIT, refuseChannel } from './refuse-channel.js';
import { Relay } from './relay.js';
import { endEvents, judgedRecords, recordingRow, refusalEvents, sessionContext, sessionRow, startRecords } from './session-records.js';
import type { SessionSpec } from './session-spec.js';

export { refuseChannel } from './refuse-channel.js';
export type { SessionSpec } from './session-spec.js';

export interface SessionDeps {
  readonly events: EventLog;
  readonly connector: Connector;
  readonly clock: Clock;
  readonly log: Logger;
  readonly brokerId: string;
  /** Opens the recording; rejects when it cannot be created. */
  readonly openRecording: (spec: SessionSpec, onError: (err: Error) => void) => Promise<{ writer: Recorder; path: string }>;
  /**
   * Interactive inspection (src/inspect): attached to shell sessions with a terminal when the
   * template inspects. It takes over the relay's input handler and observes output.
   */
  readonly attachInspection?: (session: LiveSession, relay: Relay) => Inspection | undefined;
  /** Called once the session has fully ended and its end is committed. */
  readonly onEnded: (session: LiveSession, reason: EndReason) => void;
}

const ZERO_STATS = { bytesIn: 0, bytesOut: 0 } as const;

/** A running inspector, as the session sees it. */
export interface Inspection {
  resize(cols: number, rows: number): void;
  close(): void;
}

export class LiveSession implements Watched {
  readonly id: string;
  readonly spec: SessionSpec;
  readonly startedAt: number;
  private state: 'starting' | 'live' | 'ending' | 'ended' = 'starting';
  private readonly abort = new AbortController();
  private upstream: Upstream | null = null;
  private recording: { writer: Recorder; path: string } | null = null;
  private relay: Relay | null = null;
  private exitStatus: ExitStatus | null = null;
  private ended: Promise<void> | null = null;
  private inspection: Inspection | null = null;
  /** session.start reached the store (so session.end must follow it). */
  private started = true;
  readonly log: Logger;

  constructor(
    spec: SessionSpec,
    private readonly channel: ServerChannel,
    private readonly deps: SessionDeps,
  ) {
    this.id = spec.id;
    this.spec = spec;
    this.startedAt = deps.clock.now();
    this.log = deps.log.child({ sessionId: spec.id, grantId: spec.grant.id });
  }

  get grantId(): string {
    return this.spec.grant.id;
  }

  get expiresAt(): number | null {
    return this.spec.grant.expiresAt;
  }

  get relayForInspection(): Relay | null {
    return this.relay;
  }

  resize(cols: number, rows: number): void {
    this.relay?.resize(cols, rows);
    this.inspection?.resize(cols, rows);
  }

  /** Bytes relayed so far (client → target, target → client); cheap to read, for idle and volume checks. */
  get stats(): { readonly bytesIn: number; readonly bytesOut: number } {
    return this.relay?.stats ?? ZERO_STATS;
  }

  /** Seconds since the session started: the recording's clock, for markers and the command index. */
  get offset(): number {
    return (this.deps.clock.now() - this.startedAt) / 1000;
  }

  /** A marker in the recording (one per command, labelled with the command and the decision). */
  marker(label: string): void {
    this.recording?.writer.marker(label);
  }

  /**
   * Records a judged interactive command: the event, the command index row (for search and
   * seeking), and the recording marker, in one place so they never disagree.
   */
  async commandJudged(command: string, decision: Decision, extra: EventDraft[] = []): Promise<void> {
    this.marker(`${decision.decision}: ${command}`);
    await this.deps.events.commit(judgedRecords(this.spec, command, decision, extra, this.offset, this.deps.clock.now()));
  }

  signal(name: string): void {
    this.upstream?.signal(name);
  }

  get isLive(): boolean {
    return this.state === 'live' || this.state === 'starting';
  }

  /** Live output taps (watchers). Each gets every chunk relayed to the responder. */
  get taps(): Set<(chunk: Buffer) => void> {
    return this.relayOrThrow().taps;
  }

  /** Opens the recording and the upstream, then commits `session.start`. Ends itself on failure. */
  async start(): Promise<void> {
    const { spec, deps } = this;
    try {
      this.recording = await deps.openRecording(spec, (err) => this.onRecordingError(err));
    } catch (err) {
      if (spec.template.recording === 'strict') {
        await this.refuse(new GatehouseError('GH_ERR_RECORDING', `the session cannot be recorded (${(err as Error).message}); strict recording refuses it`));
        return;
      }
      this.log.error({ err }, 'recording unavailable; best-effort mode continues without it');
    }
    this.relay = new Relay(this.channel, this.recording?.writer ?? null, this.spec.pty !== undefined, {
      exit: (status) => (this.exitStatus = status),
      closed: (err) => void this.end(err ? 'upstream-error' : 'exit', err ? `the target connection failed: ${err.message}` : undefined),
      clientClosed: () => void this.end('client-closed'),
    });
    try {
      this.upstream = await deps.connector.open(
        { sessionId: spec.id, target: spec.target, pty: spec.pty, command: spec.command, env: spec.env, signal: this.abort.signal, ...(spec.subsystem !== undefined && { subsystem: spec.subsystem }) },
        this.relay.sink,
      );
    } catch (err) {
      const e = asGatehouseError(err, 'GH_ERR_UPSTREAM_CONNECT');
      await this.refuse(e);
      return;
    }
    if (this.state !== 'starting') {
      // Ended (killed, expired, client gone) while connecting: the upstream must not linger.
      void this.upstream.close('session ended while connecting');
      return;
    }
    // Exec sessions with a terminal too: a pager or nested shell there reads lines (not subsystems: sftp is no terminal).
    if (spec.pty !== undefined && spec.subsystem === undefined && spec.template.inspect && deps.attachInspection) {
      this.inspection = deps.attachInspection(this, this.relay) ?? null;
    }
    this.relay.attach(this.upstream);
    this.state = 'live';
    const { events, commands } = startRecords(spec, this.startedAt, this.recording?.path ?? null);
    if (spec.decision !== null && spec.command !== undefined) this.recording?.writer.marker(`${spec.decision.decision}: ${spec.command}`);
    // No audit, no session: if the start cannot be recorded, the session ends at once.
    await deps.events.commit({
      sessions: [this.row(null, null)],
      ...(this.recording && { recordings: [this.recordingRow('live', null)] }),
      commands,
      events,
    }).catch((err: unknown) => {
      this.log.error({ err }, 'cannot record the session start; ending it');
      this.started = false;
      void this.end('store-lost', 'the session start could not be recorded; refusing to run unaudited');
    });
  }

  /** Ends the session for `reason`; `message` is shown to the responder. Idempotent. */
  end(reason: EndReason, message?: string, extra: EventDraft[] = []): Promise<void> {
    this.ended ??= this.finish(reason, message, extra).catch((err) => this.log.error({ err }, 'ending the session failed'));
    return this.ended;
  }

  private async finish(reason: EndReason, message: string | undefined, extra: EventDraft[]): Promise<void> {
    const wasLive = this.state === 'live';
    this.state = 'ending';
    this.abort.abort();
    this.inspection?.close();
    const brokerEnded = reason !== 'exit' && reason !== 'client-closed';
    const upstreamClosed = this.upstream?.close(reason) ?? Promise.resolve();
    // An anomaly kill stops the target side first (ssh: the channel closes; local: the process has
    // exited, SIGKILL after a grace): nothing more runs there by the time the responder reads why.
    if (reason === 'anomaly') await upstreamClosed;
    if (message !== undefined) this.relay?.notice(message, brokerEnded);
    this.relay?.finishClient(brokerEnded ? { code: BROKER_EXIT, signal: null } : this.exitStatus);
    await upstreamClosed;
    await this.relay?.flushed();
    // The session ended here, for the responder and on the target; what follows is bookkeeping.
    const endedAt = this.deps.clock.now();
    let summary: CastSummary | null = null;
    if (this.recording) {
      try {
        summary = await this.recording.writer.close();
      } catch (err) {
        this.log.error({ err }, 'recording close failed');
      }
    }
    this.state = 'ended';
    if (!wasLive || !this.started) {
      await this.deps.events
        .emit({ type: 'session.refused', ctx: this.ctx(), data: { error: 'GH_ERR_SESSION_STATE', message: `ended (${reason}) before it started${message ? `: ${message}` : ''}` } })
        .catch((err: unknown) => this.log.error({ err }, 'cannot write session.refused'));
      this.deps.onEnded(this, reason);
      return;
    }
    const stats = this.relay?.stats ?? { bytesIn: 0, bytesOut: 0 };
    const exitCode = reason === 'exit' ? (this.exitStatus?.code ?? null) : null;
    const events = endEvents(this.spec, extra, { reason, exitCode, startedAt: this.startedAt, endedAt, stats, message }, this.recording && summary ? { path: this.recording.path, summary } : null);
    this.deps.onEnded(this, reason);
    await commitWithRetry(
      () =>
        this.deps.events.commit({
          sessions: [this.row(reason, exitCode, endedAt)],
          ...(this.recording && { recordings: [this.recordingRow('closed', summary, endedAt)] }),
          events,
        }),
      this.log,
    );
  }

  /** The session never started: tell the responder why, write `session.refused`. */
  private refuse(err: GatehouseError): Promise<void> {
    // Claim the end first: the client closing after our refusal must not write a second event.
    this.ended ??= this.refuseNow(err);
    return this.ended;
  }

  private async refuseNow(err: GatehouseError): Promise<void> {
    this.state = 'ending';
    this.log.warn({ code: err.code }, err.message);
    refuseChannel(this.channel, `refused: ${err.message}`, this.spec.pty !== undefined);
    await this.recording?.writer.close().catch(() => {});
    try {
      await this.deps.events.commit({ events: refusalEvents(this.spec, err) });
    } finally {
      this.state = 'ended';
      this.deps.onEnded(this, 'upstream-error');
    }
  }

  private onRecordingError(err: Error): void {
    this.log.error({ err }, 'recording write failed');
    void this.deps.events.emit({ type: 'recording.failed', ctx: this.ctx(), data: { path: this.recording?.path ?? '', error: err.message } });
    if (this.spec.template.recording === 'strict') void this.end('recording-failed', 'the session recording could not be written; strict recording ends the session');
  }

  private relayOrThrow(): Relay {
    if (this.relay === null) throw new GatehouseError('GH_ERR_SESSION_STATE', 'session not started');
    return this.relay;
  }

  ctx(): EventContext {
    return sessionContext(this.spec);
  }

  toSession(): Session {
    return this.row(null, null);
  }

  private row(reason: EndReason | null, exitCode: number | null, endedAt: number | null = null): Session {
    return sessionRow(this.spec, this.startedAt, this.deps.brokerId, this.recording?.path ?? null, reason, exitCode, endedAt);
  }

  private recordingRow(state: RecordingRow['state'], summary: { sha256: string; bytes: number } | null, endedAt: number | null = null): RecordingRow {
    return recordingRow(this.spec, this.startedAt, this.recording?.path ?? '', state, summary, endedAt);
  }
}
