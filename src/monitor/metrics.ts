/**
 * Prometheus metrics (prom-client), one registry per broker, served at GET /metrics on the HTTP
 * listener. Everything here is updated off the hot path: per session, per command, per grant
 * change, per sink batch — never per keystroke or output chunk.
 */
import client from 'prom-client';
import type { EventLog } from '../events/log.js';

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
