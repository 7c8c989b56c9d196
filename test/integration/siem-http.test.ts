/**
 * The HTTP sinks of a running broker against a local HTTP server that records requests: the
 * Splunk HEC shape, the webhook's HMAC, retries through HTTP 500s and a refused connection, and
 * nothing lost — every stored event reaches both endpoints (repeats only with the same id).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { createServer, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness } from '../fixtures/harness.js';
import { freePort } from '../fixtures/ports.js';
import type { Scope } from '../fixtures/resources.js';
import { testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const SECRET = 'webhook-secret-1';

interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly status: number;
}

/** An HTTP endpoint that can fail on purpose and go away entirely (connection refused). */
async function endpoint(scope: Scope) {
  const port = await freePort();
  const requests: Received[] = [];
  let failNext = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const status = failNext > 0 ? (failNext--, 500) : 200;
      requests.push({ path: req.url ?? '', headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"text":"Success","code":0}' : '{"text":"Internal error"}');
    });
  });
  const up = () => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const down = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  await up();
  scope.defer(() => (server.listening ? down() : undefined));
  return {
    port,
    requests,
    up,
    down,
    failNext(n: number) {
      failNext = n;
    },
  };
}

/**
 * Refused connections of this process's HTTP requests to `port`, per request path. The broker runs
 * in-process, so its sinks' attempts against a closed port show up here, through Node's own
 * diagnostics channel — an observation, not a stand-in.
 */
function refusedAttempts(scope: Scope, port: number): Map<string, number> {
  const counts = new Map<string, number>();
  const onStart = (message: unknown): void => {
    const { request } = message as { request: ClientRequest };
    request.on('error', (err: NodeJS.ErrnoException & { port?: number }) => {
      if (err.code === 'ECONNREFUSED' && err.port === port) counts.set(request.path, (counts.get(request.path) ?? 0) + 1);
    });
  };
  dc.subscribe('http.client.request.start', onStart);
  scope.defer(() => dc.unsubscribe('http.client.request.start', onStart));
  return counts;
}

/** Events delivered to the HEC endpoint (from successful requests). */
function hecEvents(reqs: readonly Received[]): AuditEvent[] {
  return reqs
    .filter((r) => r.status === 200 && r.path === '/services/collector/event')
    .flatMap((r) => r.body.split('\n').map((l) => (JSON.parse(l) as { event: AuditEvent }).event));
}

function webhookEvents(reqs: readonly Received[]): AuditEvent[] {
  return reqs.filter((r) => r.status === 200 && r.path === '/hook').flatMap((r) => JSON.parse(r.body) as AuditEvent[]);
}

describe('http sinks', () => {
  it('deliver every event through 500s and a refused connection, in HEC shape and with a valid HMAC', async () => {
    const srv = await endpoint(scope);
    const h = await startHarness(scope, {
      sinks: [
        { name: 'hec', http: { url: `http://127.0.0.1:${srv.port}/services/collector`, format: 'splunk-hec', token: 'hec-token-1', batchSize: 5, maxBackoff: '300ms' } },
        { name: 'hook', http: { url: `http://127.0.0.1:${srv.port}/hook`, format: 'webhook', hmacSecret: SECRET, maxBackoff: '300ms' } },
      ],
    });
    await h.grant({ targets: ['sandbox'] });
    await until(async () => webhookEvents(srv.requests).length >= (await h.events()).length);

    // Failures: three 500s, then the endpoint disappears while a session runs, then returns.
    srv.failNext(3);
    await h.grant({ targets: ['sandbox'], incident: 'INC-2' });
    await until(() => srv.requests.filter((r) => r.status === 500).length === 3, 5_000, 'three 500s');
    await srv.down();
    const refused = refusedAttempts(scope, srv.port);
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo during-outage');
    expect(r.code).toBe(0);
    // Both sinks really tried the closed port, were refused, and tried again (maxBackoff 300 ms).
    await until(() => (refused.get('/hook') ?? 0) >= 3 && (refused.get('/services/collector/event') ?? 0) >= 3, 10_000, 'three refused attempts per sink');
    const head = (await h.broker.store.eventHead()).seq;
    expect(await h.broker.store.getCursor('hook')).toBeLessThan(head);
    expect(await h.broker.store.getCursor('hec')).toBeLessThan(head);
    await srv.up();

    const stored = await until(async () => {
      const all = await h.events();
      const hec = new Set(hecEvents(srv.requests).map((e) => e.id));
      const hook = new Set(webhookEvents(srv.requests).map((e) => e.id));
      return all.some((e) => e.type === 'session.end') && all.every((e) => hec.has(e.id) && hook.has(e.id)) && all;
    }, 15_000, 'every stored event at both endpoints');

    // Nothing lost, nothing invented, repeats only as exact copies; order by first arrival.
    for (const got of [hecEvents(srv.requests), webhookEvents(srv.requests)]) {
      const first = new Map<string, AuditEvent>();
      for (const e of got) {
        const seen = first.get(e.id);
        if (seen) expect(e).toEqual(seen);
        else first.set(e.id, e);
      }
      expect([...first.values()]).toEqual(stored);
    }

    // HEC shape and token.
    const hecReqs = srv.requests.filter((x) => x.path === '/services/collector/event');
    expect(hecReqs.every((x) => x.headers.authorization === 'Splunk hec-token-1')).toBe(true);
    const obj = JSON.parse(hecReqs[0]?.body.split('\n')[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(obj).sort()).toEqual(['event', 'host', 'source', 'sourcetype', 'time']);
    expect(obj).toMatchObject({ host: 'test-broker', source: 'gatehouse', sourcetype: 'gatehouse:event' });
    expect(obj.time).toBe(Date.parse((obj.event as AuditEvent).time) / 1000);
    expect(Math.max(...hecReqs.map((x) => x.body.split('\n').length))).toBeLessThanOrEqual(5);

    // Every webhook request verifies, as a receiver would check it.
    const hookReqs = srv.requests.filter((x) => x.path === '/hook');
    for (const x of hookReqs) {
      const ts = String(x.headers['x-gatehouse-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${x.body}`).digest('hex')}`;
      const sent = String(x.headers['x-gatehouse-signature']);
      expect(sent.length).toBe(expected.length);
      expect(timingSafeEqual(Buffer.from(sent), Buffer.from(expected))).toBe(true);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(120);
    }
    // The failed attempts were retried: 500s were answered, and the outage shows as a gap in requests.
    expect(srv.requests.filter((x) => x.status === 500)).toHaveLength(3);
  });
});
