/**
 * Start-up wiring of the broker's HTTP listener (listen.http): the incident webhook, /healthz,
 * /metrics and the web UI on one HttpServer. Separate from main.ts so the composition root only
 * says when the HTTP side starts and stops, and the routes it serves are listed here.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../../events/log.js';
import type { SessionRegistry } from '../../gateway/registry.js';
import type { IncidentWatcher } from '../../grants/incidents.js';
import type { Metrics } from '../../monitor/metrics.js';
import type { StoreHealth } from '../../monitor/store-health.js';
import type { LiveHub } from '../../recording/live.js';
import type { Store } from '../../store/ports.js';
import type { WebAuth } from './auth.js';
import { registerIncidentHook } from './hooks.js';
import { HttpServer, sendJson } from './server.js';
import { registerWeb } from './web.js';

export interface BrokerHttpDeps {
  readonly brokerId: string;
  readonly log: Logger;
  readonly store: Store;
  readonly events: EventLog;
  readonly live: LiveHub;
  readonly registry: SessionRegistry;
  readonly incidents: IncidentWatcher;
  readonly health: StoreHealth;
  readonly metrics: Metrics;
  readonly webAuth: WebAuth;
  /** The shared secret of the incident webhook (config.tickets.webhookSecret). */
  readonly webhookSecret: string | undefined;
  readonly recordingsDir: string;
  readonly redact: boolean;
  /** config.web.publicUrl: the address users open, whose origin the web UI checks. */
  readonly publicUrl: string | undefined;
}

/** Builds the HTTP server with every route registered (not yet listening). */
export function createBrokerHttp(d: BrokerHttpDeps): HttpServer {
  const { log, registry, health, metrics } = d;
  const http = new HttpServer(log);
  registerIncidentHook(http, { resolve: (incident, via) => d.incidents.resolve(incident, via), secret: d.webhookSecret, log });
  http.route('GET', '/healthz', (_req, res) => sendJson(res, health.healthy ? 200 : 503, { status: health.healthy ? 'ok' : 'store-unreachable', broker: d.brokerId, sessions: registry.size }));
  http.route('GET', '/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
    res.end(body);
  });
  registerWeb(http, { auth: d.webAuth, store: d.store, events: d.events, live: d.live, recordingsDir: d.recordingsDir, brokerId: d.brokerId, isHere: (id) => registry.get(id) !== undefined, publicOrigin: d.publicUrl && new URL(d.publicUrl).origin, log, redact: d.redact });
  return http;
}
