/**
 * Local port forwarding (`ssh -L`, RFC 4254 §7.2 direct-tcpip): a client's channel joined to a TCP
 * stream the target opens to a destination the grant's template lists. Only ssh targets (the
 * connector opens the stream with the target's own sshd), only exact `host:port` destinations.
 *
 * A forward is supervised like a session (the watchdog ends it on the grant's expiry or
 * revocation, the registry on shutdown or store loss) but it is not a session: its bytes are an
 * opaque TCP stream and are not recorded or inspected. A template that allows a destination
 * accepts that; the events say when, to where, and how many bytes.
 *
 *   opening ──(stream open, forward_opened written, channel accepted)──► open ──► ended
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { AcceptConnection, RejectConnection, ServerChannel } from 'ssh2';
import type { Connector, Tunnel } from '../connectors/types.js';
import type { Clock } from '../domain/clock.js';
import { destinationKey } from '../domain/destination.js';
import { asGatehouseError, type ErrorCode, type GatehouseError } from '../domain/errors.js';
import type { EndReason, Grant, Target, Template } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { Watched } from '../monitor/watchdog.js';
import { sanitizeForLog } from './username.js';

/** A connection's upstream tunnel is kept this long after its last forward, for the next one. */
const TUNNEL_IDLE_MS = 10_000;

/** Ends that mean the access itself is over (not one stream closing or failing). */
export const ACCESS_ENDED: ReadonlySet<EndReason> = new Set(['revoked', 'expired', 'killed', 'anomaly', 'shutdown', 'store-lost']);

/** Why a forward to `host:port` is refused under this template and target, or null. Pure. */
export function forwardRefusal(template: Template, target: Target, host: string, port: number): { code: ErrorCode; message: string } | null {
  const dest = destinationKey(host, port);
  if (target.kind !== 'ssh') return { code: 'GH_ERR_CHANNEL_REFUSED', message: `port forwarding is passed through only to ssh targets, and ${target.name} is a ${target.kind} target` };
  if (dest === null || !template.allowForwarding.local.includes(dest)) {
    return { code: 'GH_ERR_CHANNEL_REFUSED', message: `port forwarding is not allowed to ${dest ?? shownDestination(host, port)} by template ${template.name} (forwarding.local)` };
  }
  return null;
}

/** A destination as the client sent it, safe to print. */
export function shownDestination(host: string, port: number): string {
  return `${sanitizeForLog(host.slice(0, 64))}:${port}`;
}

export interface ForwardSpec {
  readonly id: string;
  readonly grant: Grant;
  readonly target: Target;
  readonly host: string;
  readonly port: number;
  /** Canonical `host:port` (domain/destination.ts), as the template lists it. */
  readonly destination: string;
  readonly source: string;
}

export interface ForwardDeps {
  readonly events: EventLog;
  readonly clock: Clock;
  readonly log: Logger;
  readonly supervise: (forward: Watched) => () => void;
  readonly tunnel: () => Promise<Tunnel>;
  readonly onEnded: (forward: Forward, reason: EndReason) => void;
}

export class Forward implements Watched {
  private state: 'opening' | 'open' | 'ended' = 'opening';
  private channel: ServerChannel | null = null;
  private stream: Duplex | null = null;
  private ended: Promise<void> | null = null;
  private readonly release: () => void;
  private openedAt = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  /** Which side sent EOF first: it decides between `client-closed` and `exit`. */
  private firstEof: 'client' | 'target' | null = null;
  private upstreamError: Error | null = null;

  /** Supervised from construction: a revoke from now on reaches it through the watchdog. */
  constructor(
    readonly spec: ForwardSpec,
    private readonly deps: ForwardDeps,
  ) {
    this.release = deps.supervise(this);
  }

  get id(): string {
    return this.spec.id;
  }

  get grantId(): string {
    return this.spec.grant.id;
  }

  get expiresAt(): number | null {
    return this.spec.grant.expiresAt;
  }

  /**
   * Opens the stream from the target, writes `session.forward_opened` (no audit, no forward), then
   * accepts the client's channel and relays both ways with backpressure (pipe). The client's
   * channel open is answered only once the target has the stream, so a refused destination is an
   * open failure for the client, as with sshd.
   */
  async start(accept: AcceptConnection<ServerChannel>, reject: RejectConnection): Promise<void> {
    let stream: Duplex;
    try {
      stream = await (await this.deps.tunnel()).forward(this.spec.host, this.spec.port);
    } catch (err) {
      reject();
      await this.refuse(asGatehouseError(err, 'GH_ERR_UPSTREAM_CONNECT'));
      return;
    }
    stream.on('error', (err: Error) => (this.upstreamError ??= err));
    if (this.state !== 'opening') {
      stream.destroy(); // ended (revoked, expired, shutdown) while the target was connecting
      reject();
      return;
    }
    this.stream = stream;
    this.state = 'open';
    this.openedAt = this.deps.clock.now();
    try {
      await this.deps.events.emit({ type: 'session.forward_opened', ctx: this.ctx(), data: { forwardId: this.id, destination: this.spec.destination } });
    } catch (err) {
      this.deps.log.error({ err }, 'cannot record the forward opening; refusing it');
      void this.end('store-lost', 'the forward could not be recorded; refusing to run unaudited');
    }
    if (this.state !== 'open') return reject();
    const channel = accept();
    if (channel === undefined) return void this.end('client-closed');
    this.relay(channel, stream);
  }

  private relay(channel: ServerChannel, stream: Duplex): void {
    this.channel = channel;
    channel.on('error', () => {});
    channel.on('data', (b: Buffer) => (this.bytesIn += b.length));
    stream.on('data', (b: Buffer) => (this.bytesOut += b.length));
    channel.once('end', () => (this.firstEof ??= 'client'));
    stream.once('end', () => (this.firstEof ??= 'target'));
    // pipe() carries EOF on 'end'; a stream that closes without one (the tunnel died) must still
    // end the client's side, whose close then ends the forward.
    stream.once('close', () => {
      if (!channel.writableEnded) channel.end();
    });
    channel.once('close', () => {
      const err = this.upstreamError;
      void this.end(err ? 'upstream-error' : this.firstEof === 'target' ? 'exit' : 'client-closed', err ? `the target's stream failed: ${err.message}` : undefined);
    });
    channel.pipe(stream);
    stream.pipe(channel);
  }

  /** Ends the forward for `reason` (idempotent): both sides are closed at once, then the event. */
  end(reason: EndReason, message?: string): Promise<void> {
    this.ended ??= this.finish(reason, message).catch((err: unknown) => this.deps.log.error({ err }, 'ending the forward failed'));
    return this.ended;
  }

  private async finish(reason: EndReason, message: string | undefined): Promise<void> {
    const was = this.state;
    this.state = 'ended';
    this.release();
    this.channel?.destroy();
    this.stream?.destroy();
    const endedAt = this.deps.clock.now();
    const event: EventDraft =
      was === 'opening'
        ? // start() answers the client's open when it sees the state.
          { type: 'session.refused', ctx: this.ctx(), data: { error: 'GH_ERR_SESSION_STATE', message: `forward to ${this.spec.destination} ended (${reason}) before it opened${message ? `: ${message}` : ''}` } }
        : {
            type: 'session.forward_closed',
            ctx: this.ctx(),
            at: endedAt,
            data: { forwardId: this.id, destination: this.spec.destination, reason, durationMs: endedAt - this.openedAt, bytesIn: this.bytesIn, bytesOut: this.bytesOut, message: message ?? null },
          };
    this.deps.onEnded(this, reason);
    await this.deps.events.emit(event);
  }

  /** The target could not open the stream: `session.refused` (and the host key alarm). */
  private refuse(err: GatehouseError): Promise<void> {
    this.ended ??= (async () => {
      this.state = 'ended';
      this.release();
      const events: EventDraft[] = [{ type: 'session.refused', ctx: this.ctx(), data: { error: err.code, message: `forward to ${this.spec.destination}: ${err.message}` } }];
      if (err.code === 'GH_ERR_HOST_KEY_MISMATCH') {
        events.push({ type: 'upstream.host_key_mismatch', ctx: this.ctx(), data: { expected: String(err.details?.expected), presented: String(err.details?.presented) } });
      }
      this.deps.onEnded(this, 'upstream-error');
      await this.deps.events.emit(...events);
    })().catch((e: unknown) => this.deps.log.error({ err: e }, 'cannot write the forward refusal'));
    return this.ended;
  }

  private ctx(): EventContext {
    const { grant, target, source } = this.spec;
    return { actor: grant.user, user: grant.user, target: target.name, grantId: grant.id, incident: grant.incident, sessionId: null, source };
  }
}

/**
 * The forwards of one client connection and the one upstream tunnel they share (a connection has
 * one target). The tunnel is opened on first use, kept briefly after the last forward for the
 * next one, and closed at once when the broker ended the forwards or the client left.
 */
export class ConnectionForwards {
  private readonly live = new Set<Forward>();
  private tunnel: Promise<Tunnel> | null = null;
  private idle: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();

  constructor(
    private readonly connector: Required<Pick<Connector, 'tunnel'>>,
    private readonly target: Target,
  ) {}

  get size(): number {
    return this.live.size;
  }

  /** A forward under `deps` (without `tunnel` and `onEnded`, which this set provides). */
  create(spec: ForwardSpec, deps: Omit<ForwardDeps, 'tunnel' | 'onEnded'>, onEnded: (reason: EndReason) => void): Forward {
    const forward = new Forward(spec, {
      ...deps,
      tunnel: () => this.use(),
      onEnded: (f, reason) => {
        this.live.delete(f);
        if (this.live.size === 0) this.idleTunnel(ACCESS_ENDED.has(reason) ? 0 : TUNNEL_IDLE_MS);
        onEnded(reason);
      },
    });
    this.live.add(forward);
    return forward;
  }

  /** Ends every forward (a kill on the connection, the client leaving). */
  endAll(reason: EndReason, message?: string): Promise<void[]> {
    return Promise.all([...this.live].map((f) => f.end(reason, message)));
  }

  /** The client connection is gone: end everything and close the tunnel now. */
  close(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    this.abort.abort();
    void this.endAll('client-closed');
    this.closeTunnel();
  }

  private use(): Promise<Tunnel> {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    const current = this.tunnel;
    if (current === null) return this.reopen(null);
    return current.then(
      (t) => (t.usable ? t : this.reopen(current)),
      () => this.reopen(current),
    );
  }

  /** Opens a new tunnel unless another caller already replaced `stale`. */
  private reopen(stale: Promise<Tunnel> | null): Promise<Tunnel> {
    if (this.tunnel !== stale) return this.use();
    const next = this.connector.tunnel(this.target, this.abort.signal);
    next.catch(() => {}); // each caller sees the rejection; an unused one must not go unhandled
    this.tunnel = next;
    return next;
  }

  private idleTunnel(ms: number): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = null;
    if (ms === 0) return this.closeTunnel();
    this.idle = setTimeout(() => {
      this.idle = null;
      if (this.live.size === 0) this.closeTunnel();
    }, ms);
    this.idle.unref();
  }

  private closeTunnel(): void {
    const t = this.tunnel;
    this.tunnel = null;
    void t?.then(
      (x) => x.close(),
      () => {},
    );
  }
}
