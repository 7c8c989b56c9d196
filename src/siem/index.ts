/** Builds the configured sinks. One file per sink kind; this is the only place that knows them all. */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { SinkConfig } from '../config/schema.js';
import { GatehouseError } from '../domain/errors.js';
import { FileSink } from './file.js';
import { eventFilter } from './filter.js';
import { HttpSink } from './http.js';
import { DEFAULT_SD_ID, FACILITIES } from './rfc5424.js';
import { SyslogSink, type ClientTls } from './syslog.js';
import type { Sink } from './types.js';
import type { WorkerOptions } from './worker.js';

export interface SinkContext {
  /** Broker version, for CEF headers, OCSF metadata and the User-Agent. */
  readonly version: string;
  readonly log: Logger;
}

export interface ConfiguredSink {
  readonly sink: Sink;
  /** The sink's delivery tuning, for its SinkWorker. */
  readonly options: Pick<WorkerOptions, 'batchSize' | 'maxBackoffMs' | 'backlogAlert'>;
}

type TlsConfig = { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; insecure: boolean; servername?: string | undefined };

function readTls(where: string, t: TlsConfig | boolean | undefined, log: Logger): ClientTls | null {
  if (t === undefined || t === false) return null;
  if (t === true) return {};
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const path = t[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new GatehouseError('GH_ERR_CONFIG', `${where}.tls.${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  if ((t.cert === undefined) !== (t.key === undefined)) throw new GatehouseError('GH_ERR_CONFIG', `${where}.tls: a client certificate needs both cert and key`);
  if (t.insecure) log.error({ sink: where }, 'TLS certificate verification is OFF for this sink (tls.insecure): anyone on the path can read and forge its events');
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), ...(t.servername !== undefined && { servername: t.servername }), insecure: t.insecure };
}

const delivery = (c: { batchSize?: number | undefined; maxBackoff?: number | undefined; backlogLimit?: number | undefined }): ConfiguredSink['options'] => ({
  ...(c.batchSize !== undefined && { batchSize: c.batchSize }),
  ...(c.maxBackoff !== undefined && { maxBackoffMs: c.maxBackoff }),
  ...(c.backlogLimit !== undefined && { backlogAlert: c.backlogLimit }),
});

/** A sink's name (its cursor's key): `name`, or the kind and its position (`file-0`, `syslog-1`). */
export function sinkName(c: SinkConfig, i: number): string {
  return c.name ?? `${'file' in c ? 'file' : 'syslog' in c ? 'syslog' : 'http'}-${i}`;
}

/**
 * Where a sink's cursor lives in the store. One broker: the sink's name. Several brokers sharing
 * PostgreSQL: `BROKER/NAME`, so each broker delivers every event to its own sinks — a shared
 * cursor would let one broker's progress skip events another broker's sink never received. A SIEM
 * fed by several brokers therefore sees each event once per broker (same id: de-duplicate), or
 * configure the SIEM sinks on one broker only.
 */
export function sinkCursorKey(storeKind: 'sqlite' | 'postgres', brokerId: string, name: string): string {
  return storeKind === 'postgres' ? `${brokerId}/${name}` : name;
}

export function createSinks(configs: readonly SinkConfig[], ctx: SinkContext): ConfiguredSink[] {
  const names = new Set<string>();
  return configs.map((c, i) => {
    const where = `sinks[${i}]`;
    const built = build(c, i, where, ctx);
    if (names.has(built.sink.name)) throw new GatehouseError('GH_ERR_CONFIG', `${where}.name: two sinks are named ${JSON.stringify(built.sink.name)}; each needs its own cursor`);
    names.add(built.sink.name);
    return built;
  });
}

function build(c: SinkConfig, i: number, where: string, ctx: SinkContext): ConfiguredSink {
  if ('file' in c) {
    return { sink: new FileSink(sinkName(c, i), c.file.path, eventFilter(c.file.types, c.file.minSeverity)), options: delivery(c.file) };
  }
  if ('syslog' in c) {
    const s = c.syslog;
    const sink = new SyslogSink({
      name: sinkName(c, i),
      host: s.host,
      port: s.port,
      tls: readTls(`${where}.syslog`, s.tls, ctx.log),
      format: s.format,
      rfc5424: { facility: FACILITIES[s.facility ?? 'authpriv'], appName: s.appName, procId: String(process.pid), sdId: s.sdId ?? DEFAULT_SD_ID },
      version: ctx.version,
      accepts: eventFilter(s.types, s.minSeverity),
      ...(s.resendWindow !== undefined && { resendWindowMs: s.resendWindow }),
      ...(s.connectTimeout !== undefined && { connectTimeoutMs: s.connectTimeout }),
      log: ctx.log,
    });
    return { sink, options: delivery(s) };
  }
  const h = c.http;
  if (h.format === 'splunk-hec' && (h.token === undefined || h.token === '')) throw new GatehouseError('GH_ERR_CONFIG', `${where}.http.token: a splunk-hec sink needs its HEC token`);
  if (h.format === 'webhook' && (h.hmacSecret === undefined || h.hmacSecret === '')) throw new GatehouseError('GH_ERR_CONFIG', `${where}.http.hmacSecret: a webhook sink signs every request and needs a secret`);
  const sink = new HttpSink({
    name: sinkName(c, i),
    url: h.url,
    format: h.format,
    payload: h.payload ?? 'event',
    token: h.token,
    hmacSecret: h.hmacSecret,
    tls: readTls(`${where}.http`, h.tls, ctx.log),
    ...(h.timeout !== undefined && { timeoutMs: h.timeout }),
    ...(h.headers !== undefined && { headers: h.headers }),
    hec: { index: h.index, source: h.source, sourcetype: h.sourcetype },
    version: ctx.version,
    accepts: eventFilter(h.types, h.minSeverity),
  });
  return { sink, options: delivery(h) };
}
