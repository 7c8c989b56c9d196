/**
 * The anomaly engine: routes the event feed to the event detectors, samples the watched sessions'
 * byte counters on one timer for the sampled ones (output volume, idle, overrun), and carries out
 * each finding's action (idle has a fixed one, see endIdle):
 *
 *   alert   `anomaly.detected` (and so every sink and notification) — nothing else.
 *   kill    `anomaly.detected` is committed together with the grant's review flag (a human must
 *           `grant review` it), then the session ends with reason `anomaly`: upstream closed first,
 *           the responder told why. A finding with no live session of its own (a denied exec never
 *           opens one; a refused connection) ends the grant's live sessions on this broker instead.
 *   revoke  `anomaly.detected` + review flag, then GrantService.revoke as `gatehouse` with reason
 *           "anomaly: …"; the watchdog ends the grant's sessions on every broker.
 *
 * Each broker judges only the events it wrote itself (the broker that holds the connection), so a
 * finding is made once even when several brokers share the feed. Judging runs in feed order on one
 * queue; actions run beside it and never hold up the next event. Nothing here is on the data path:
 * the sampler reads two counters per session per tick.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import { formatDuration } from '../../domain/duration.js';
import { GatehouseError } from '../../domain/errors.js';
import type { Grant, Template } from '../../domain/types.js';
import type { EventLog } from '../../events/log.js';
import type { AuditEvent, EventDraft } from '../../events/types.js';
import type { SessionFilter, Store } from '../../store/ports.js';
import { DangerousCommands } from './dangerous.js';
import { DeniedCommands } from './denied.js';
import { IdleTracker } from './idle.js';
import { NewSource } from './new-source.js';
import { OutsideNetworks } from './outside-networks.js';
import { Overrun } from './overrun.js';
import type { EventDetector, EventInput, Finding, SampledDetector, Subject } from './types.js';
import { OutputVolume } from './volume.js';

export interface AnomalyGrants {
  template(name: string): Template | undefined;
  revoke(caller: string, id: string, reason: string): Promise<Grant>;
  flagForReview(id: string, events: readonly EventDraft[]): Promise<Grant>;
}

export interface AnomalyEngineDeps {
  readonly events: EventLog;
  readonly store: { getGrant(id: string): Promise<Grant | undefined>; listSessions(filter?: SessionFilter): ReturnType<Store['listSessions']> };
  readonly grants: AnomalyGrants;
  readonly clock: Clock;
  readonly log: Logger;
  readonly brokerId: string;
  /** Period of the sampler (output volume, idle, overrun). Default 250 ms; 0 = no timer (tests call tick()). */
  readonly sampleIntervalMs?: number;
  /** How far past its grant's deadline a session may still be live before `overrun` fires. Default 2 s. */
  readonly overrunMarginMs?: number;
  /** Told when a finding's action is done, with ms since its trigger (or since the sample). */
  readonly onAction?: (finding: Finding, latencyMs: number) => void;
}

const GRANT_CACHE = 1_000;

export class AnomalyEngine {
  private readonly sessions = new Map<string, Subject>();
  /** Template name and incident of grants seen, so most events need no store read. */
  private readonly grantInfo = new Map<string, { template: string; incident: string }>();
  private readonly denied = new DeniedCommands();
  private readonly routes = new Map<string, EventDetector[]>();
  private readonly sampled: SampledDetector[];
  private readonly idle = new IdleTracker();
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout | null;
  private queue: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private lastSweep = 0;

  constructor(private readonly d: AnomalyEngineDeps) {
    for (const det of [this.denied, new DangerousCommands(), new NewSource(), new OutsideNetworks()] as EventDetector[]) {
      for (const t of det.types) this.routes.set(t, [...(this.routes.get(t) ?? []), det]);
    }
    this.sampled = [new OutputVolume(), new Overrun(d.overrunMarginMs ?? 2_000)];
    this.unsubscribe = d.events.subscribe((e) => this.onEvent(e));
    const every = d.sampleIntervalMs ?? 250;
    this.timer = every > 0 ? setInterval(() => this.tick(), every) : null;
    this.timer?.unref();
  }

  /** Watches a session until the returned function is called (when it has ended). */
  watch(session: Subject): () => void {
    this.sessions.set(session.id, session);
    this.remember(session.grantId, { template: session.spec.template.name, incident: session.spec.grant.incident });
    return () => {
      this.sessions.delete(session.id);
      this.idle.forget(session.id);
      this.denied.forget(session.id);
      for (const s of this.sampled) s.forget(session.id);
    };
  }

  get size(): number {
    return this.sessions.size;
  }

  /** One sampling pass over the watched sessions. Public for tests driving a ManualClock. */
  tick(): void {
    const now = this.d.clock.now();
    for (const s of this.sessions.values()) {
      if (!s.isLive) continue;
      const idleMs = this.idle.check(s, now);
      if (idleMs !== null) {
        this.track(this.endIdle(s, idleMs, s.spec.template.idleTimeoutMs ?? idleMs));
        continue;
      }
      for (const det of this.sampled) {
        const f = det.sample(s, now);
        if (f !== null) this.track(this.act(f, now));
      }
    }
    if (now - this.lastSweep >= 60_000) {
      this.lastSweep = now;
      this.denied.sweep(now);
    }
  }

  /** Resolves when every event seen so far has been judged and every action taken. */
  async settled(): Promise<void> {
    await this.queue;
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    await Promise.race([this.settled(), new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.sessions.clear();
  }

  private onEvent(e: AuditEvent): void {
    if (e.broker !== this.d.brokerId || e.grantId === null) return;
    const detectors = this.routes.get(e.type);
    if (detectors === undefined) return;
    this.queue = this.queue.then(() => this.judge(e, detectors)).catch((err: unknown) => this.d.log.error({ err, event: e.type }, 'anomaly detector failed'));
  }

  private async judge(e: AuditEvent, detectors: readonly EventDetector[]): Promise<void> {
    const session = e.sessionId === null ? undefined : this.sessions.get(e.sessionId);
    const info = await this.infoOf(e.grantId as string);
    const template = session?.spec.template ?? (info && this.d.grants.template(info.template));
    if (template === undefined) return;
    const input: EventInput = {
      template,
      session,
      now: this.d.clock.now(),
      liveSessions: (grantId) => this.d.store.listSessions({ live: true, grantId }),
    };
    for (const det of detectors) {
      const f = await det.judge(e, input);
      // A refused connection's event names no incident yet; the finding should.
      if (f !== null) this.track(this.act(f.ctx.incident ? f : { ...f, ctx: { ...f.ctx, incident: info?.incident ?? null } }, Date.parse(e.time)));
    }
  }

  private async act(f: Finding, since: number): Promise<void> {
    const targets = f.action === 'kill' ? this.killTargets(f) : [];
    const evidence = { ...f.evidence, summary: f.summary, ...(f.action === 'kill' && { sessionsEnded: targets.map((s) => s.id) }) };
    const draft: EventDraft = { type: 'anomaly.detected', ctx: f.ctx, data: { detector: f.detector, action: f.action, evidence } };
    this.d.log.warn({ detector: f.detector, action: f.action, grantId: f.grantId, sessionId: f.sessionId }, `anomaly: ${f.summary}`);
    try {
      if (f.action === 'alert') {
        await this.d.events.emit(draft);
      } else if (f.action === 'kill') {
        const message = `session ended by the broker: ${f.summary} (anomaly: ${f.detector}); security has been notified`;
        // The finding is on record before the end, so the audit trail reads cause, then effect.
        await this.record(f, draft);
        await Promise.all(targets.map((s) => s.end('anomaly', message)));
      } else {
        await this.record(f, draft);
        await this.d.grants.revoke('gatehouse', f.grantId, `anomaly: ${f.summary}`.slice(0, 1_000)).catch((err: unknown) => {
          if (err instanceof GatehouseError && err.code === 'GH_ERR_GRANT_STATE') return; // already over
          throw err;
        });
      }
    } catch (err) {
      this.d.log.error({ err, detector: f.detector, grantId: f.grantId }, 'anomaly action failed');
    }
    this.d.onAction?.(f, this.d.clock.now() - since);
  }

  /**
   * Idle past the limit: `anomaly.detected` (detector `idle`, action `kill`: the broker ends the
   * session), then the end with reason `idle`. No review flag: an idle session is housekeeping. The
   * session ends even when the event cannot be written (ending is the safe side).
   */
  private async endIdle(s: Subject, idleMs: number, limitMs: number): Promise<void> {
    const summary = `session idle for ${formatDuration(idleMs)} (the limit is ${formatDuration(limitMs)})`;
    this.d.log.info({ sessionId: s.id, grantId: s.grantId, idleMs }, 'ending idle session');
    await this.d.events
      .emit({ type: 'anomaly.detected', ctx: { ...s.ctx(), actor: 'gatehouse' }, data: { detector: 'idle', action: 'kill', evidence: { idleMs, limitMs, summary, sessionsEnded: [s.id] } } })
      .catch((err: unknown) => this.d.log.error({ err, sessionId: s.id }, 'cannot record the idle finding; ending the session anyway'));
    await s.end('idle', `${summary}; ended by the broker`);
  }

  /** The finding's own session when it is live here, else the grant's live sessions here. */
  private killTargets(f: Finding): Subject[] {
    const own = f.sessionId === null ? undefined : this.sessions.get(f.sessionId);
    if (own !== undefined && own.isLive) return [own];
    return [...this.sessions.values()].filter((s) => s.grantId === f.grantId && s.isLive);
  }

  /** `anomaly.detected` committed with the grant's review flag; the event alone if the grant is gone. */
  private async record(f: Finding, draft: EventDraft): Promise<void> {
    try {
      await this.d.grants.flagForReview(f.grantId, [draft]);
    } catch (err) {
      this.d.log.warn({ err, grantId: f.grantId }, 'cannot flag the grant for review; recording the anomaly alone');
      await this.d.events.emit(draft);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private remember(grantId: string, info: { template: string; incident: string }): void {
    if (this.grantInfo.size >= GRANT_CACHE) this.grantInfo.clear();
    this.grantInfo.set(grantId, info);
  }

  private async infoOf(grantId: string): Promise<{ template: string; incident: string } | undefined> {
    let info = this.grantInfo.get(grantId);
    if (info === undefined) {
      const g = await this.d.store.getGrant(grantId);
      if (g === undefined) return undefined;
      info = { template: g.template, incident: g.incident };
      this.remember(grantId, info);
    }
    return info;
  }
}
