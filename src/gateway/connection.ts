/**
 * One inbound SSH connection: authenticate the user by public key (authentication.ts), resolve the
 * route (USER:TARGET[:GRANT]) to a grant, and turn each session channel into a LiveSession and each
 * allowed direct-tcpip channel (`ssh -L`) into a Forward. Everything a client sends is untrusted;
 * every refusal is one printable line and one `session.refused` event.
 */
import type { AcceptConnection, Connection, RejectConnection, ServerChannel, TcpipRequestInfo } from 'ssh2';

import { asGatehouseError, type ErrorCode } from '../domain/errors.js';
import { destinationKey } from '../domain/destination.js';
import { newId } from '../domain/ids.js';
import type { EndReason, Target, Template } from '../domain/types.js';
import { effectiveState, findCoveringGrant, type Coverage } from '../grants/rules.js';
import { channelRefusal, sourceRefusal, subsystemTargetRefusal } from './admission.js';
import { Authenticator } from './authentication.js';
import { handleSessionChannel, type ChannelHandle, type StartRequest } from './channel.js';
import { ACCESS_ENDED, ConnectionForwards, forwardRefusal, shownDestination } from './forward.js';
import type { GatewayServices } from './services.js';
import type { Slot } from './slots.js';
import { refuseChannel } from './refuse-channel.js';
import type { LiveSession } from './session.js';
import type { SessionSpec } from './session-spec.js';
import { sanitizeForLog, type Route } from './username.js';

/** Concurrent session channels per connection, like sshd's MaxSessions (default 10). */
const MAX_CHANNELS = 10;
/** Concurrent forwarded TCP streams (`ssh -L`) per connection. */
const MAX_FORWARDS = 64;
const IDLE_DISCONNECT_MS = 500;

export class ConnectionContext {
  route: Route | null = null;
  authenticated = false;
  private coverage: Promise<Coverage> | null = null;
  private resolved: Coverage | null = null;
  private readonly sessions = new Set<LiveSession>();
  private forwards: ConnectionForwards | null = null;
  private channels = 0;
  log: GatewayServices['log'];

  constructor(
    readonly client: Connection,
    readonly source: string,
    private readonly svc: GatewayServices,
  ) {
    this.log = svc.log.child({ source });
    const auth = new Authenticator(this, svc, () => this.resolve());
    client.on('authentication', (ctx) => void auth.authenticate(ctx).catch((err) => auth.authFailed(ctx, err)));
    client.on('ready', () => this.onReady());
    client.on('session', (accept, reject) => {
      if (!this.authenticated) return reject();
      // Reject explicitly: a channel open left unanswered hangs the client (and holds its slot).
      if (this.channels >= MAX_CHANNELS) {
        this.refused('GH_ERR_CHANNEL_REFUSED', `more than ${MAX_CHANNELS} session channels at once on one connection`);
        return reject();
      }
      this.channels++;
      handleSessionChannel(accept, this, (channel, req) => this.startSession(channel, req), () => this.channels--);
    });
    client.on('tcpip', (accept, reject, info) => {
      if (!this.authenticated) return reject();
      void this.startForward(accept, reject, info).catch((err: unknown) => {
        this.log.error({ err }, 'forward start failed');
        try {
          reject();
        } catch {
          // answered already, or the client is gone
        }
      });
    });
    client.on('openssh.streamlocal', (_accept, reject) => reject());
    // Remote forwarding (-R) would open a listener on the target side that feeds connections back
    // through the broker to the responder's machine: never allowed.
    client.on('request', (_accept, reject, name) => {
      if (name === 'tcpip-forward') this.refused('GH_ERR_CHANNEL_REFUSED', 'remote port forwarding is not allowed through the broker');
      reject?.();
    });
    client.on('error', (err) => this.log.debug({ err: err.message }, 'ssh connection error'));
    client.on('close', () => {
      for (const s of this.sessions) void s.end('client-closed');
      this.forwards?.close();
    });
  }

  private onReady(): void {
    const route = this.route as Route;
    this.log = this.log.child({ user: route.user, target: route.target });
    this.coverage = this.resolve();
    void this.coverage.then((c) => (this.resolved = c));
  }

  private resolve(): Promise<Coverage> {
    const route = this.route as Route;
    if (!this.svc.targets.has(route.target)) {
      return Promise.resolve({ ok: false, message: `unknown target ${route.target}`, grantId: null });
    }
    return this.svc.grants.resolveForSession(route.user, route.target, route.grantId);
  }

  /**
   * Why this subsystem (sftp, ...) is refused, or null when the grant's template allows it.
   * Subsystems pass through only to ssh targets (admission.ts). Answered synchronously when the route is
   * already resolved (the usual case): ssh2 silently drops a channel-request reply that comes
   * after the client's EOF, and `ssh -s` with an empty stdin sends EOF at once.
   */
  subsystemRefusal(name: string): string | null | Promise<string | null> {
    const decide = (cov: Coverage): string | null => {
      const shown = sanitizeForLog(name.slice(0, 32));
      if (!cov.ok || !(this.svc.grants.template(cov.grant.template)?.allowForwarding.subsystems.includes(name) ?? false)) return `subsystem ${shown} is not allowed by the grant's template`;
      return subsystemTargetRefusal(name, this.svc.targets.get((this.route as Route).target));
    };
    if (this.resolved !== null) return decide(this.resolved);
    return (this.coverage ?? this.resolve()).then(decide);
  }

  private startSession(channel: ServerChannel, req: StartRequest): ChannelHandle {
    let session: LiveSession | undefined;
    let slot: Slot | null = null;
    const route = this.route as Route;
    const pty = req.pty !== undefined;
    void (async () => {
      // Re-resolve: the grant may have been revoked or expired since the connection authenticated.
      const cov = await this.resolve();
      if (!cov.ok) {
        refuseChannel(channel, `refused: ${cov.message}`, pty);
        this.refused('GH_ERR_NO_GRANT', cov.message, cov.grantId);
        return;
      }
      const template = this.svc.grants.template(cov.grant.template);
      const target = this.svc.targets.get(route.target) as Target;
      if (template === undefined) {
        refuseChannel(channel, `refused: grant ${cov.grant.id} names an unknown template`, pty);
        this.refused('GH_ERR_UNKNOWN_TEMPLATE', `template ${cov.grant.template} is not configured`, cov.grant.id);
        return;
      }
      const unfit = channelRefusal(req, template, target);
      if (unfit !== null) {
        refuseChannel(channel, `refused: ${unfit.message}`, pty);
        this.refused(unfit.code, unfit.message, cov.grant.id);
        return;
      }
      // Held until the session's row is in the store, so that concurrent admissions count it.
      slot = template.maxSessions === null ? null : this.svc.slots.take(cov.grant.id);
      const admitted = await this.admit(template, cov.grant.id, slot);
      if (admitted !== null) {
        refuseChannel(channel, `refused: ${admitted.message}`, pty);
        this.refused(admitted.code, admitted.message, cov.grant.id);
        return;
      }
      const connector = this.svc.connectors[target.kind];
      if (connector === undefined) {
        refuseChannel(channel, `refused: no ${target.kind} connector on this broker`, pty);
        this.refused('GH_ERR_UPSTREAM_CONNECT', `no ${target.kind} connector configured`, cov.grant.id);
        return;
      }
      const spec: SessionSpec = { id: newId('s'), grant: cov.grant, template, target, source: this.source, kind: req.kind, command: req.command, subsystem: req.subsystem, pty: req.pty, env: req.env, decision: null };
      const verdict = this.svc.guard ? await this.svc.guard(spec, channel) : { proceed: true as const, decision: null };
      if (!verdict.proceed) return;
      session = this.svc.createSession({ ...spec, decision: verdict.decision }, channel, connector, (s, reason) => this.sessionEnded(s, reason));
      this.sessions.add(session);
      if (!(await this.stillCovered(session, channel))) return;
      await session.start();
    })()
      .catch((err: unknown) => {
        const e = asGatehouseError(err);
        this.log.error({ err }, 'session start failed');
        refuseChannel(channel, e.code === 'GH_ERR_INTERNAL' ? 'internal error starting the session' : `refused: ${e.message}`, pty);
      })
      .finally(() => slot?.release());
    return {
      resize: (cols, rows) => session?.resize(cols, rows),
      signal: (name) => session?.signal(name),
    };
  }

  /**
   * The session is watched from the moment it was created, so a revoke or expiry from then on
   * reaches it through the watchdog. One that came while it was starting (admission, a review
   * wait) is only in the store: read the grant again, and end the session before it starts if the
   * grant no longer covers it. False when the session must not start.
   */
  private async stillCovered(session: LiveSession, channel: ServerChannel): Promise<boolean> {
    const pty = session.spec.pty !== undefined;
    const refusal = await this.coverageLost(session.grantId);
    if (refusal === null && session.isLive) return true;
    // Ended meanwhile (by the watchdog, or the client left): the responder still gets a line.
    const message = refusal?.message ?? 'the session was ended while it was starting';
    refuseChannel(channel, `refused: ${message}`, pty);
    await session.end(refusal?.reason ?? 'revoked', message);
    return false;
  }

  /** Reads the grant again: why it no longer covers this route, or null while it does. */
  private async coverageLost(grantId: string): Promise<{ reason: EndReason; message: string } | null> {
    const route = this.route as Route;
    try {
      const grant = await this.svc.grants.get('gatehouse', grantId);
      const now = this.svc.clock.now();
      const cov = findCoveringGrant([grant], route.user, route.target, now, grant.id);
      return cov.ok ? null : { reason: effectiveState(grant, now) === 'expired' ? 'expired' : 'revoked', message: cov.message };
    } catch (err) {
      return { reason: 'store-lost', message: `the grant could not be checked again (${asGatehouseError(err).message})` };
    }
  }

  /**
   * A direct-tcpip channel (`ssh -L`): allowed only to a destination the grant's template lists,
   * on an ssh target, from the template's source networks; then supervised like a session.
   */
  private async startForward(accept: AcceptConnection<ServerChannel>, reject: RejectConnection, info: TcpipRequestInfo): Promise<void> {
    const route = this.route as Route;
    const refuse = (code: ErrorCode, message: string, grantId: string | null = null): void => {
      reject();
      this.refused(code, message, grantId);
    };
    const cov = await this.resolve();
    if (!cov.ok) return refuse('GH_ERR_NO_GRANT', `port forwarding to ${shownDestination(info.destIP, info.destPort)} refused: ${cov.message}`, cov.grantId);
    const template = this.svc.grants.template(cov.grant.template);
    const target = this.svc.targets.get(route.target) as Target;
    if (template === undefined) return refuse('GH_ERR_UNKNOWN_TEMPLATE', `template ${cov.grant.template} is not configured`, cov.grant.id);
    const unfit = forwardRefusal(template, target, info.destIP, info.destPort) ?? sourceRefusal(template, this.source);
    if (unfit !== null) return refuse(unfit.code, unfit.message, cov.grant.id);
    const connector = this.svc.connectors[target.kind];
    const tunnel = connector?.tunnel;
    const supervise = this.svc.superviseForward;
    if (connector === undefined || tunnel === undefined || supervise === undefined) return refuse('GH_ERR_CHANNEL_REFUSED', `port forwarding is not available on this broker for ${target.kind} targets`, cov.grant.id);
    // Checked right before create (no await between): concurrent opens cannot overshoot the cap.
    if ((this.forwards?.size ?? 0) >= MAX_FORWARDS) return refuse('GH_ERR_CHANNEL_REFUSED', `more than ${MAX_FORWARDS} forwarded connections at once on one connection`, cov.grant.id);
    this.forwards ??= new ConnectionForwards({ tunnel: tunnel.bind(connector) }, target);
    const spec = { id: newId('f'), grant: cov.grant, target, host: info.destIP, port: info.destPort, destination: destinationKey(info.destIP, info.destPort) as string, source: this.source };
    const forward = this.forwards.create(spec, { events: this.svc.events, clock: this.svc.clock, log: this.log.child({ forwardId: spec.id, grantId: cov.grant.id }), supervise }, (reason) => {
      if (ACCESS_ENDED.has(reason)) this.endIfIdle(); // the access is over: disconnect once idle
    });
    // Supervised from here on; a revoke that came while resolving is only in the store.
    const lost = await this.coverageLost(cov.grant.id);
    if (lost !== null) {
      reject();
      await forward.end(lost.reason, lost.message);
      return;
    }
    await forward.start(accept, reject);
  }

  /** The template's limits on where from and how many: null when the session may start. */
  private async admit(template: Template, grantId: string, slot: Slot | null): Promise<{ code: ErrorCode; message: string } | null> {
    const outside = sourceRefusal(template, this.source);
    if (outside !== null) return outside;
    if (template.maxSessions !== null && (await this.svc.countLive(grantId)) + (slot?.ahead() ?? 0) >= template.maxSessions) {
      return { code: 'GH_ERR_SESSION_LIMIT', message: `grant ${grantId} already has its maximum of ${template.maxSessions} concurrent session(s)` };
    }
    return null;
  }

  /**
   * Called by the session when it has ended. A kill (by a watcher or an anomaly detector) is aimed
   * at the responder's access, so the forwards this connection carries end with it.
   */
  sessionEnded(session: LiveSession, reason: EndReason): void {
    this.sessions.delete(session);
    if (reason === 'killed' || reason === 'anomaly') void this.forwards?.endAll(reason, `a session on the same connection was ended (${reason})`);
    if (reason !== 'exit' && reason !== 'client-closed') this.endIfIdle();
  }

  /**
   * After the broker ended a session (kill, expiry, revoke), a client that keeps the connection
   * open with no session left (a ControlMaster, a stuck client) is disconnected. OpenSSH exits by
   * itself when its last channel closes, so this only catches the rest.
   */
  private endIfIdle(): void {
    const idle = (): boolean => this.sessions.size === 0 && (this.forwards?.size ?? 0) === 0;
    if (!idle()) return;
    setTimeout(() => {
      if (idle()) this.client.end();
    }, IDLE_DISCONNECT_MS).unref();
  }

  /** Writes `session.refused` for this connection. */
  refused(code: ErrorCode, message: string, grantId: string | null = null): void {
    const route = this.route;
    void this.svc.events
      .emit({ type: 'session.refused', ctx: { actor: route?.user ?? null, user: route?.user ?? null, target: route?.target ?? null, grantId, source: this.source }, data: { error: code, message } })
      .catch((err: unknown) => this.log.error({ err }, 'cannot write session.refused'));
  }
}
