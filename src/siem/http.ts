/**
 * HTTP sink, two formats:
 *
 * splunk-hec — `POST {url}` where a url ending in `/services/collector` (or with no path) gets
 *   `/services/collector/event` appended; `Authorization: Splunk TOKEN`; the body is one HEC event
 *   object per event, newline-separated:
 *     {"time":1767225600.123,"host":"BROKER","source":"gatehouse","sourcetype":"gatehouse:event","event":{...}}
 *   (`index` is added when configured; `event` is the Gatehouse event, or its OCSF form with
 *   `payload: ocsf`).
 *
 * webhook — `POST {url}` with a JSON array of events and
 *     X-Gatehouse-Timestamp: UNIX_SECONDS
 *     X-Gatehouse-Signature: sha256=HEX( HMAC-SHA256( secret, TIMESTAMP + "." + RAW_BODY ) )
 *     X-Gatehouse-Batch: FIRST_SEQ-LAST_SEQ
 *   A receiver recomputes the HMAC over the timestamp header, a dot and the exact body bytes,
 *   compares in constant time, rejects timestamps more than a few minutes old (replays), and
 *   de-duplicates events by `id` (delivery is at least once).
 *
 * A 2xx response is the acknowledgement: only then does the cursor move. 408, 429 (honouring
 * Retry-After), 5xx, timeouts and connection errors are retried with backoff. Any other 4xx is a
 * configuration error (bad token, wrong URL): it is logged at error level on every attempt and
 * retried at the maximum backoff, so nothing is ever dropped while someone fixes the config.
 */
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AuditEvent } from '../events/types.js';
import { toOcsf } from './ocsf.js';
import type { ClientTls } from './syslog.js';
import { DeliveryError, type Sink } from './types.js';

export interface HttpSinkOptions {
  readonly name: string;
  readonly url: string;
  readonly format: 'splunk-hec' | 'webhook';
  readonly payload: 'event' | 'ocsf';
  readonly token?: string | undefined;
  readonly hmacSecret?: string | undefined;
  readonly tls: ClientTls | null;
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly hec?: { readonly index?: string | undefined; readonly source?: string | undefined; readonly sourcetype?: string | undefined };
  readonly version: string;
  readonly accepts: (e: AuditEvent) => boolean;
  readonly now?: () => number;
}

/** Where HEC events go: the configured URL, completed to the `/services/collector/event` endpoint. */
export function hecEndpoint(url: string): URL {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  if (path === '' || path.endsWith('/services/collector')) u.pathname = `${path === '' ? '/services/collector' : path}/event`;
  return u;
}

/** The webhook signature header value for a body sent at `timestamp` (seconds). */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export class HttpSink implements Sink {
  readonly name: string;
  readonly accepts: (e: AuditEvent) => boolean;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly now: () => number;

  constructor(private readonly o: HttpSinkOptions) {
    this.name = o.name;
    this.accepts = o.accepts;
    this.now = o.now ?? Date.now;
    this.url = o.format === 'splunk-hec' ? hecEndpoint(o.url) : new URL(o.url);
    const tls = o.tls;
    this.agent =
      this.url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            maxSockets: 1,
            ...(tls?.ca && { ca: tls.ca }),
            ...(tls?.cert && { cert: tls.cert }),
            ...(tls?.key && { key: tls.key }),
            ...(tls?.servername !== undefined && { servername: tls.servername }),
            rejectUnauthorized: tls?.insecure !== true,
          })
        : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  /** The request a batch becomes (exposed for tests). */
  encode(batch: readonly AuditEvent[]): { body: Buffer; headers: Record<string, string> } {
    const shaped = batch.map((e) => (this.o.payload === 'ocsf' ? toOcsf(e, this.o.version) : e));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': `gatehouse/${this.o.version}`, ...this.o.headers };
    if (this.o.format === 'splunk-hec') {
      const hec = this.o.hec ?? {};
      const body = batch
        .map((e, i) =>
          JSON.stringify({
            time: Date.parse(e.time) / 1000,
            host: e.broker,
            source: hec.source ?? 'gatehouse',
            sourcetype: hec.sourcetype ?? 'gatehouse:event',
            ...(hec.index !== undefined && { index: hec.index }),
            event: shaped[i],
          }),
        )
        .join('\n');
      headers.authorization = `Splunk ${this.o.token ?? ''}`;
      return { body: Buffer.from(body), headers };
    }
    const body = Buffer.from(JSON.stringify(shaped));
    const timestamp = String(Math.floor(this.now() / 1000));
    headers['x-gatehouse-timestamp'] = timestamp;
    headers['x-gatehouse-signature'] = webhookSignature(this.o.hmacSecret ?? '', timestamp, body);
    headers['x-gatehouse-batch'] = `${batch[0]?.seq ?? 0}-${batch[batch.length - 1]?.seq ?? 0}`;
    return { body, headers };
  }

  async deliver(batch: readonly AuditEvent[]): Promise<void> {
    const { body, headers } = this.encode(batch);
    const res = await this.post(body, headers);
    if (res.status >= 200 && res.status < 300) return;
    const retryAfter = res.retryAfter;
    const detail = `${this.url.origin}${this.url.pathname} answered HTTP ${res.status}${res.text ? `: ${res.text.slice(0, 200)}` : ''}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new DeliveryError(detail, { ...(retryAfter !== null && { retryAfterMs: retryAfter }) });
    throw new DeliveryError(`${detail} (a configuration error: check the URL and the token/secret)`, { permanent: true });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private post(body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string; retryAfter: number | null }> {
    const timeout = this.o.timeoutMs ?? 10_000;
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(this.url, { method: 'POST', agent: this.agent, headers: { ...headers, 'content-length': String(body.length) }, timeout }, (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 4_096) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: text.trim(), retryAfter: parseRetryAfter(res.headers['retry-after'], this.now()) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no response from ${this.url.origin} within ${timeout} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Retry-After as delay-seconds or an HTTP date → milliseconds; null when absent or unreadable. */
export function parseRetryAfter(v: string | undefined, now: number): number | null {
  if (v === undefined) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1_000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
