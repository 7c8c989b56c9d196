/**
 * Prometheus metrics (prom-client), one registry per broker, served at GET /metrics on the HTTP
 * listener. Everything here is updated off the hot path: per session, per command, per grant
 * change, per sink batch — never per keystroke or output chunk.
 */
import client from 'prom-client';
import type { Clock } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { AuditEvent } from '../events/types.js';
import type { Store } from '../store/ports.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly sessionsActive = new client.Gauge({ name: 'gatehouse_sessions_active', help: 'Live sessions held by this broker', registers: [this.registry] });
  readonly sessionsTotal = new client.Counter({ name: 'gatehouse_sessions_total', help: 'Sessions ended, by end reason', labelNames: ['reason'], registers: [this.registry] });
  readonly sessionsRefused = new client.Counter({ name: 'gatehouse_sessions_refused_total', help: 'Connections or channels refused, by error code', labelNames: ['code'], registers: [this.registry] });
  readonly commands = new client.Counter({ name: 'gatehouse_commands_total', help: 'Commands judged, by decision', labelNames: ['decision'], registers: [this.registry] });
  readonly grantChanges = new client.Counter({ name: 'gatehouse_grant_changes_total', help: 'Grant lifecycle events, by type', labelNames: ['type'], registers: [this.registry] });
  readonly anomalies = new client.Counter({ name: 'gatehouse_anomalies_total', help: 'Anomaly detections, by detector and action', labelNames: ['detector', 'action'], registers: [this.registry] });
  readonly events = new client.Counter({ name: 'gatehouse_events_total', help: 'Events appended to the audit chain, by severity', labelNames: ['severity'], registers: [this.registry] });
  readonly sinkLag = new client.Gauge({ name: 'gatehouse_sink_lag_events', help: 'Events not yet delivered to a sink', labelNames: ['sink'], registers: [this.registry] });
  readonly sinkBacklogFull = new client.Counter({ name: 'gatehouse_sink_backlog_full_total', help: 'Times a sink crossed its backlog limit', labelNames: ['sink'], registers: [this.registry] });
  readonly timeToGrant = new client.Histogram({ name: 'gatehouse_time_to_grant_seconds', help: 'From request to activation', buckets: [5, 15, 30, 60, 120, 300, 600, 1800, 3600], registers: [this.registry] });
  readonly timeToRevoke = new client.Histogram({ name: 'gatehouse_time_to_session_end_seconds', help: 'From a revoke, kill or expiry to the session ending', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_process_' });
  }

  /**
   * Time to grant (request → activation) and time to session end (revoke, kill, anomaly kill or
   * expiry → each affected session's `session.end`), from the event feed; and a gauge of pending and
   * active grants read from the store when /metrics is scraped. Returns an unsubscribe function.
   */
  followLifecycle(events: EventLog, store: Pick<Store, 'getGrant' | 'listGrants'>, clock: Clock): () => void {
    const starts = new BoundedMap();
    new client.Gauge({
      name: 'gatehouse_grants',
      help: 'Grants by state (pending, active), read from the store at scrape time',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const now = clock.now();
        const open = await store.listGrants({ states: ['pending', 'active'], limit: 100_000 });
        this.set({ state: 'pending' }, open.filter((g) => g.state === 'pending').length);
        this.set({ state: 'active' }, open.filter((g) => g.state === 'active' && (g.expiresAt === null || now < g.expiresAt)).length);
      },
    });
    const observe = (h: client.Histogram, from: number | undefined, to: number): void => {
      if (from !== undefined && Number.isFinite(from)) h.observe(Math.max(0, to - from) / 1000);
    };
    return events.subscribe((e: AuditEvent) => {
      const at = Date.parse(e.time);
      switch (e.type) {
        case 'grant.requested':
          if (e.grantId) starts.set(`r:${e.grantId}`, at);
          break;
        case 'grant.activated': {
          const id = e.grantId;
          if (id === null) break;
          const requested = starts.take(`r:${id}`);
          if (requested !== undefined) observe(this.timeToGrant, requested, at);
          else void store.getGrant(id).then((g) => observe(this.timeToGrant, g?.requestedAt, at), () => undefined);
          break;
        }
        case 'grant.denied':
          if (e.grantId) starts.take(`r:${e.grantId}`);
          break;
        case 'grant.revoked':
          if (e.grantId) starts.set(`g:${e.grantId}`, at);
          break;
        case 'session.killed':
          if (e.sessionId) starts.set(`s:${e.sessionId}`, at);
          break;
        case 'anomaly.detected':
          // An anomaly kill is recorded before the session ends; a revoke goes through grant.revoked.
          if (e.data.action === 'kill') starts.set(e.sessionId ? `s:${e.sessionId}` : `g:${e.grantId ?? ''}`, at);
          break;
        case 'session.end': {
          const reason = e.data.reason;
          if (reason === 'revoked') observe(this.timeToRevoke, starts.get(`g:${e.grantId ?? ''}`), at);
          else if (reason === 'killed') observe(this.timeToRevoke, starts.take(`s:${e.sessionId ?? ''}`), at);
          else if (reason === 'anomaly') observe(this.timeToRevoke, starts.take(`s:${e.sessionId ?? ''}`) ?? starts.get(`g:${e.grantId ?? ''}`), at);
          // An idle end is not a revocation (the report leaves it out too); forget its finding's start.
          else if (reason === 'idle') starts.take(`s:${e.sessionId ?? ''}`);
          // Expiry: the deadline itself is the trigger (grant.expired may be written after the end).
          else if (reason === 'expired' && e.grantId !== null) void store.getGrant(e.grantId).then((g) => observe(this.timeToRevoke, g?.expiresAt ?? undefined, at), () => undefined);
          break;
        }
        default:
          break;
      }
    });
  }

  /** Counts what the event feed says (every event, from any broker, exactly once). */
  follow(events: EventLog): () => void {
    return events.subscribe((e) => {
      this.events.inc({ severity: e.severity });
      if (e.type.startsWith('grant.')) this.grantChanges.inc({ type: e.type });
      if (e.type === 'command.allowed') this.commands.inc({ decision: 'allow' });
      else if (e.type === 'command.denied') this.commands.inc({ decision: 'deny' });
      else if (e.type === 'command.review') this.commands.inc({ decision: 'review' });
      else if (e.type === 'session.refused') this.sessionsRefused.inc({ code: String(e.data.error) });
      else if (e.type === 'session.end') this.sessionsTotal.inc({ reason: String(e.data.reason) });
      else if (e.type === 'anomaly.detected') this.anomalies.inc({ detector: String(e.data.detector), action: String(e.data.action) });
      else if (e.type === 'sink.backlog_full') this.sinkBacklogFull.inc({ sink: String(e.data.sink) });
    });
  }
}

/** Start times awaiting their end; the oldest entries go first past a bound, so memory stays flat. */
class BoundedMap {
  private readonly m = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  set(key: string, at: number): void {
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value as string);
    this.m.set(key, at);
  }

  get(key: string): number | undefined {
    return this.m.get(key);
  }

  take(key: string): number | undefined {
    const v = this.m.get(key);
    this.m.delete(key);
    return v;
  }
}
