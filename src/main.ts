/**
 * The composition root: config → services → listeners. The only place that picks concrete
 * adapters (SQLite or Postgres, which connectors, which sinks), and the only place that knows
 * the order of start and of graceful shutdown.
 */
import { setFlagsFromString } from 'node:v8';
import pino, { type Logger } from 'pino';
import { GrpcApi } from './api/grpc/server.js';
import { readEnv } from './config/env.js';
import type { Config } from './config/load.js';
import { changedSections, configHash } from './config/compare.js';
import { createLocalConnector } from './connectors/local/index.js';
import { createSshConnector } from './connectors/ssh/index.js';
import { awsKmsDataKeyProvider, createSsmConnector, type SsmConnectorOptions } from './connectors/ssm/index.js';
import type { Connector } from './connectors/types.js';
import { systemClock, type Clock } from './domain/clock.js';
import type { TargetKind } from './domain/types.js';
import { GatehouseError } from './domain/errors.js';
import { Checkpointer } from './events/checkpoint.js';
import { loadOrCreateSigningKey, loadTrustedKeys } from './events/signing-key.js';
import { EventLog } from './events/log.js';
import { createExecGuard } from './gateway/guard.js';
import { ReviewQueue } from './inspect/review.js';
import { compileRules, type CompiledRules } from './policy/index.js';
import { SessionRegistry } from './gateway/registry.js';
import { loadHostKeys, publicLine } from './gateway/hostkeys.js';
import { sweepInterrupted } from './gateway/recovery.js';
import { SshGateway } from './gateway/server.js';
import { createSessionFactory } from './gateway/session-factory.js';
import type { GatewayServices } from './gateway/services.js';
import { Directory } from './grants/directory.js';
import { GrantExpiry } from './grants/expiry.js';
import { GrantService } from './grants/service.js';
import { IncidentWatcher, ticketProviderFrom } from './grants/incidents.js';
import { Metrics } from './monitor/metrics.js';
import { StoreHealth } from './monitor/store-health.js';
import { createBrokerHttp } from './api/http/broker-http.js';
import { WebAuth } from './api/http/auth.js';
import { defaultWebUrl } from './api/http/web.js';
import { LiveHub } from './recording/live.js';
import { Watchdog } from './monitor/watchdog.js';
import { AnomalyEngine } from './monitor/anomaly/engine.js';
import type { Recorder } from './recording/remote.js';
import { createSinks, sinkCursorKey } from './siem/index.js';
import { audienceFrom, createNotifySinks } from './siem/notify.js';
import { SinkWorker } from './siem/worker.js';
import { openSqliteStore } from './store/sqlite/index.js';
import type { Store } from './store/ports.js';
import { VERSION } from './domain/version.js';
import { SessionSlots } from './gateway/slots.js';

export { VERSION };
/** How long shutdown waits for sessions to record their end before closing the store anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface BrokerOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Replace or add connectors (tests, the demo's SSM simulator). */
  readonly connectors?: Partial<Record<TargetKind, Connector>>;
}

export interface Broker {
  readonly config: Config;
  readonly ports: { readonly ssh: number; readonly grpc: number; readonly http: number | null };
  readonly hostKey: string;
  readonly store: Store;
  readonly events: EventLog;
  readonly grants: GrantService;
  readonly registry: SessionRegistry;
  readonly log: Logger;
  /** Signs the audit chain's checkpoints; `checkpoint()` writes one now. */
  readonly checkpointer: Checkpointer;
  /** Graceful: ends live sessions with reason `shutdown`, drains sinks, closes the store. */
  close(): Promise<void>;
  /**
   * A configuration reload (SIGHUP): `users` take effect at once (keys, tokens, roles, groups,
   * TOTP); any other section that changed is reported, and waits for a restart.
   */
  reload(next: Config): Promise<ReloadResult>;
}

export interface ReloadResult {
  readonly applied: readonly string[];
  readonly restartNeeded: readonly string[];
}

function ssmOptions(config: Config): Omit<SsmConnectorOptions, 'logger'> {
  // A mutable copy: the config is frozen, and the AWS SDK annotates the credentials object it is given.
  const credentials = config.ssm.credentials && { ...config.ssm.credentials };
  return {
    ...(config.ssm.endpoint !== undefined && { endpoint: config.ssm.endpoint }),
    ...(credentials !== undefined && { credentials }),
    dataKeyProvider: awsKmsDataKeyProvider(credentials),
  };
}

export function createLogger(level = readEnv().logLevel ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['token', '*.token', 'password', '*.password', 'totp', '*.totp', 'authorization', '*.authorization', 'privateKey', '*.privateKey', 'hmacSecret', '*.hmacSecret'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** The configured store (not yet migrated). Also used by `gatehouse audit verify/export --config`. */
export async function openStore(config: Config, log: Logger): Promise<Store> {
  return config.store.kind === 'sqlite' ? openSqliteStore(config.store.path) : (await import('./store/postgres/index.js')).openPostgresStore(config.store.url, log);
}

/**
 * Bulk output through the broker allocates Buffers (socket reads, SSH packets) at hundreds of MB/s.
 * V8 frees dead ArrayBuffers on a background thread, and until it has, counts them as live external
 * memory; on a machine whose cores are busy (the broker shares them with sshd and ssh) that thread
 * lags, the count passes V8's limit, and major GCs run back to back: up to twice the broker's CPU
 * per MB (bench/RESULTS.md, 2026-12-04). Freeing them in the collection that found them dead keeps
 * the count true. V8 reads this flag at each collection, so setting it at start-up takes effect.
 */
function tuneGcForRelaying(): void {
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}

export async function startBroker(config: Config, opts: BrokerOptions = {}): Promise<Broker> {
  tuneGcForRelaying();
  const clock = opts.clock ?? systemClock;
  const log = (opts.logger ?? createLogger()).child({ broker: config.brokerId });
  const store = await openStore(config, log);
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    await store.migrate();
    const events = new EventLog(store, config.brokerId, clock, log);
    await sweepInterrupted(store, events, config.brokerId, config.recordings.dir, clock);
    await events.start();
    closers.push(() => events.close());

    const directory = new Directory(config.users);
    const tickets = ticketProviderFrom(config.tickets.provider);
    const grants = new GrantService({ store, events, directory, targets: config.targets, templates: config.templates, clock, log, ...(tickets && { tickets }) });
    const incidents = new IncidentWatcher({ grants, store, tickets, clock, log, pollIntervalMs: config.tickets.pollIntervalMs });
    incidents.start();
    closers.push(() => incidents.close());
    const expiry = new GrantExpiry(grants, store, events, clock, log);
    await expiry.start();
    closers.push(() => expiry.close());
    const watchdog = new Watchdog(events, clock, log);
    closers.push(() => watchdog.close());
    const anomalies = new AnomalyEngine({ events, store, grants, clock, log, brokerId: config.brokerId });
    closers.push(() => anomalies.close());
    const registry = new SessionRegistry();
    const writers = new Map<string, Recorder>();
    const live = new LiveHub({ session: (id) => registry.get(id), recording: (id) => writers.get(id), redact: config.recordings.redact, log });
    closers.push(() => live.close());
    const health = new StoreHealth(store, config.store.failClosedAfterMs, () => void registry.endAll('store-lost', 'the broker lost its database; sessions cannot be audited, so they end'), log);
    health.start();
    closers.push(() => health.stop());

    const metrics = new Metrics();
    closers.push(metrics.follow(events));
    closers.push(metrics.followLifecycle(events, store, clock));
    const workers = createSinks(config.sinks, { version: VERSION, log }).map(
      ({ sink, options }) => new SinkWorker(sink, store, events, log, { ...options, cursorKey: sinkCursorKey(store.kind, config.brokerId, sink.name), onLag: (name, lag) => metrics.sinkLag.set({ sink: name }, lag) }),
    );
    const audience = audienceFrom({ users: () => directory.all(), targets: config.targets, templates: config.templates, getGrant: (id) => store.getGrant(id) });
    const notifiers = createNotifySinks(config.notify, { audience, log, version: VERSION, brokerId: config.brokerId });
    workers.push(...notifiers.map((sink) => new SinkWorker(sink, store, events, log, { cursorKey: sinkCursorKey(store.kind, config.brokerId, sink.name), onLag: (name, lag) => metrics.sinkLag.set({ sink: name }, lag) })));
    for (const w of workers) await w.start();
    events.subscribe(() => workers.forEach((w) => w.wake()));
    closers.push(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));
    // Closers run in reverse: the shutdown checkpoint is written before the sinks drain, so they ship it.
    const signingKey = await loadOrCreateSigningKey(config.audit.signingKeyFile, log);
    const checkpointer = new Checkpointer({ events, store, key: signingKey, clock, log, every: config.audit.checkpointEvery, intervalMs: config.audit.checkpointIntervalMs });
    await checkpointer.start();
    closers.push(() => checkpointer.stop());

    const rules = new Map(config.templates.map((t) => [t.name, compileRules(t.commands)]));
    const rulesFor = (template: string): CompiledRules => {
      const r = rules.get(template);
      if (r === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `template ${template} is not configured`);
      return r;
    };
    const reviews = new ReviewQueue(events, clock, log);
    closers.push(() => reviews.close());

    const ssm = config.targets.some((t) => t.kind === 'ssm') && opts.connectors?.ssm === undefined ? createSsmConnector({ logger: log, ...ssmOptions(config) }) : null;
    if (ssm) closers.push(() => ssm.dispose());
    const connectors: Partial<Record<TargetKind, Connector>> = { ssh: createSshConnector(), local: createLocalConnector(), ...(ssm && { ssm }), ...opts.connectors };
    const services: GatewayServices = {
      directory,
      grants,
      targets: new Map(config.targets.map((t) => [t.name, t])),
      connectors,
      events,
      clock,
      log,
      onAuthenticated: () => {},
      countLive: async (grantId) => (await store.listSessions({ live: true, grantId })).length,
      slots: new SessionSlots(),
      superviseForward(forward) {
        const unwatch = watchdog.watch(forward);
        const release = registry.hold(forward);
        return () => {
          unwatch();
          release();
        };
      },
      guard: createExecGuard({ events, reviews, rules: rulesFor }),
      createSession: createSessionFactory({ events, clock, log, brokerId: config.brokerId, recordings: config.recordings, rulesFor, reviews, grants, registry, writers, live, metrics, watchdog, anomalies }),
    };

    const hostKeys = await loadHostKeys(config.dataDir, config.ssh.hostKeys);
    const gateway = new SshGateway(services, { hostKeys, loginGraceTimeMs: config.ssh.loginGraceTimeMs, ...(config.ssh.ciphers && { ciphers: config.ssh.ciphers }) });
    const sshPort = await gateway.listen(config.listen.ssh.host, config.listen.ssh.port);
    closers.push(() => gateway.close());

    const streams = new AbortController();
    const audit = { key: signingKey, trustedKeys: [signingKey.publicKey, ...(await loadTrustedKeys(config.audit.trustedKeys))], recordingsDir: config.recordings.dir, cursorNames: [...workers.map((w) => w.cursorKey), checkpointer.hintName], signal: streams.signal };
    let httpPort: number | null = null;
    const webAuth = config.listen.http === undefined ? null : await WebAuth.open(config.dataDir, directory, store, clock, { sessionTtlMs: config.web.sessionTtlMs, linkTtlMs: config.web.loginLinkTtlMs, secure: config.web.publicUrl?.startsWith('https:') ?? false });
    const webUrl = (): string => config.web.publicUrl ?? defaultWebUrl(config.listen.http?.host ?? '127.0.0.1', httpPort ?? 0);
    const recordingsApi = { store, live, recordingsDir: config.recordings.dir, web: webAuth && { createLink: webAuth.createLink.bind(webAuth), url: webUrl } };
    const api = new GrpcApi({ directory, grants, store, events, clock, audit, recordings: recordingsApi }, log);
    const grpcPort = await api.listen(config.listen.grpc.host, config.listen.grpc.port, config.grpc.tls);
    closers.push(() => api.close());
    closers.push(() => streams.abort());

    if (config.listen.http !== undefined && webAuth !== null) {
      const http = createBrokerHttp({ brokerId: config.brokerId, log, store, events, live, registry, incidents, health, metrics, webAuth, webhookSecret: config.tickets.webhookSecret, recordingsDir: config.recordings.dir, redact: config.recordings.redact, publicUrl: config.web.publicUrl });
      httpPort = await http.listen(config.listen.http.host, config.listen.http.port);
      closers.push(() => http.close());
    }

    await events.emit(
      { type: 'broker.started', ctx: { actor: 'gatehouse' }, data: { version: VERSION, config: config.source } },
      // The SIEM learns which configuration governs what follows (a hash: the config holds secrets).
      { type: 'config.loaded', ctx: { actor: 'gatehouse' }, data: { source: config.source, sha256: configHash(config) } },
    );
    log.info({ ssh: sshPort, grpc: grpcPort, http: httpPort, store: config.store.kind }, 'gatehouse broker listening');

    let closing: Promise<void> | null = null;
    let current = config;
    return {
      get config() {
        return current;
      },
      ports: { ssh: sshPort, grpc: grpcPort, http: httpPort },
      hostKey: publicLine(hostKeys[0] as Buffer),
      store,
      events,
      grants,
      registry,
      log,
      checkpointer,
      close() {
        closing ??= (async () => {
          await gateway.stopAccepting();
          const ending = registry.endAll('shutdown', 'the broker is shutting down');
          const ended = await Promise.race([ending, new Promise<number>((r) => setTimeout(() => r(registry.size), SHUTDOWN_GRACE_MS).unref())]);
          await events.emit({ type: 'broker.stopped', ctx: { actor: 'gatehouse' }, data: { sessionsEnded: ended } }).catch(() => []);
          await checkpointer.stop(); // the shutdown checkpoint covers broker.stopped; sinks and streams drain it
          await closeAll();
          log.info({ sessionsEnded: ended }, 'gatehouse broker stopped');
        })();
        return closing;
      },
      async reload(next) {
        const changed = changedSections(current, next);
        const applied = changed.filter((k) => k === 'users');
        const restartNeeded = changed.filter((k) => k !== 'users');
        if (applied.length > 0) directory.replace(next.users);
        current = Object.freeze({ ...current, users: next.users, source: next.source });
        await events.emit({ type: 'config.loaded', ctx: { actor: 'gatehouse' }, data: { source: next.source, sha256: configHash(next), reload: true, applied, restartNeeded } });
        if (restartNeeded.length > 0) log.warn({ restartNeeded }, 'configuration reloaded; these sections changed and take effect at the next restart');
        else log.info({ applied }, 'configuration reloaded');
        return { applied, restartNeeded };
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
