/**
 * The HTTP sink against a local server that records requests: Splunk HEC shape and token, webhook
 * HMAC over timestamp + body, which statuses are retried and which are configuration errors, and
 * HTTPS with a private CA and a client certificate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { describe, expect, it } from 'vitest';
import { GENESIS, seal } from '../../../src/events/chain.js';
import type { AuditEvent } from '../../../src/events/types.js';
import { hecEndpoint, HttpSink, parseRetryAfter, webhookSignature, type HttpSinkOptions } from '../../../src/siem/http.js';
import { DeliveryError } from '../../../src/siem/types.js';
import { testScope } from '../../fixtures/scope.js';
import { draft } from '../audit/chain-fixture.js';
import { makePki } from './certs.js';
import { recorder, type Req } from './http-recorder.js';

const scope = testScope();

function events(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let head = GENESIS;
  for (let i = 0; i < n; i++) head = out[out.push(seal(head, draft())) - 1] as AuditEvent;
  return out;
}

function sink(o: Partial<HttpSinkOptions> & Pick<HttpSinkOptions, 'url'>): HttpSink {
  const s = new HttpSink({ name: 'http', format: 'webhook', payload: 'event', tls: null, version: '0.1.0', accepts: () => true, hmacSecret: 's3cret', token: 'tok', timeoutMs: 2_000, ...o });
  scope.defer(() => s.close());
  return s;
}

describe('Splunk HEC', () => {
  it('posts one HEC event object per event to /services/collector/event with the Splunk token', async () => {
    const srv = await recorder(scope);
    const evs = events(3);
    await sink({ url: `http://127.0.0.1:${srv.port}/services/collector`, format: 'splunk-hec', token: 'hec-123', hec: { index: 'security' } }).deliver(evs);
    const [req] = srv.requests;
    expect(req).toMatchObject({ method: 'POST', url: '/services/collector/event' });
    expect(req?.headers.authorization).toBe('Splunk hec-123');
    const objs = req?.body.toString().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs).toEqual(evs.map((e) => ({ time: Date.parse(e.time) / 1000, host: 'b1', source: 'gatehouse', sourcetype: 'gatehouse:event', index: 'security', event: e })));
  });

  it('completes the endpoint path only where it is the collector root', () => {
    expect(hecEndpoint('https://s:8088').pathname).toBe('/services/collector/event');
    expect(hecEndpoint('https://s:8088/services/collector/').pathname).toBe('/services/collector/event');
    expect(hecEndpoint('https://s:8088/services/collector/raw').pathname).toBe('/services/collector/raw');
  });
});

describe('webhook', () => {
  it('posts a JSON array signed with HMAC-SHA256 over timestamp "." body', async () => {
    const srv = await recorder(scope);
    const evs = events(2);
    await sink({ url: `http://127.0.0.1:${srv.port}/hook`, now: () => 1_767_225_600_000 }).deliver(evs);
    const req = srv.requests[0] as Req;
    expect(JSON.parse(req.body.toString())).toEqual(evs);
    expect(req.headers['x-gatehouse-timestamp']).toBe('1767225600');
    expect(req.headers['x-gatehouse-batch']).toBe('1-2');
    // What a receiver does, written out independently of the sink's code.
    const mac = createHmac('sha256', 's3cret').update(Buffer.concat([Buffer.from('1767225600.'), req.body])).digest('hex');
    const sent = String(req.headers['x-gatehouse-signature']);
    expect(sent).toBe(`sha256=${mac}`);
    expect(timingSafeEqual(Buffer.from(sent), Buffer.from(webhookSignature('s3cret', '1767225600', req.body)))).toBe(true);
    expect(webhookSignature('wrong', '1767225600', req.body)).not.toBe(sent);
  });

  it('sends OCSF objects with payload: ocsf', async () => {
    const srv = await recorder(scope);
    await sink({ url: `http://127.0.0.1:${srv.port}/`, payload: 'ocsf' }).deliver(events(1));
    expect(JSON.parse(srv.requests[0]?.body.toString() ?? '')).toMatchObject([{ class_uid: 1007, type_uid: 100701 }]);
  });
});

describe('responses', () => {
  it.each([500, 503, 408])('HTTP %d is retried', async (status) => {
    const srv = await recorder(scope, () => [status]);
    const err = await sink({ url: `http://127.0.0.1:${srv.port}/` }).deliver(events(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ permanent: false });
  });

  it('429 carries Retry-After to the worker', async () => {
    const srv = await recorder(scope, () => [429, { 'retry-after': '7' }]);
    await expect(sink({ url: `http://127.0.0.1:${srv.port}/` }).deliver(events(1))).rejects.toMatchObject({ permanent: false, retryAfterMs: 7_000 });
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.UTC(2026, 0, 1))).toBe(10_000);
  });

  it.each([400, 401, 403, 404])('HTTP %d is a configuration error', async (status) => {
    const srv = await recorder(scope, () => [status]);
    await expect(sink({ url: `http://127.0.0.1:${srv.port}/` }).deliver(events(1))).rejects.toMatchObject({ permanent: true, message: expect.stringContaining(`HTTP ${status}`) });
  });

  it('a refused connection rejects', async () => {
    await expect(sink({ url: 'http://127.0.0.1:1/' }).deliver(events(1))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a server that never answers times out', async () => {
    const server = createServer(() => {});
    const srv = await recorder(scope, () => [200], server);
    server.removeAllListeners('request');
    await expect(sink({ url: `http://127.0.0.1:${srv.port}/`, timeoutMs: 200 }).deliver(events(1))).rejects.toThrow(/within 200 ms/);
  });
});

describe('HTTPS', () => {
  it('verifies the server with the configured CA and presents the client certificate', async () => {
    const pki = await makePki(scope);
    const server = createHttpsServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true });
    const srv = await recorder(scope, () => [200], server);
    await sink({ url: `https://127.0.0.1:${srv.port}/`, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } }).deliver(events(1));
    expect(srv.requests).toHaveLength(1);
    await expect(sink({ url: `https://127.0.0.1:${srv.port}/`, tls: { ca: pki.ca } }).deliver(events(1))).rejects.toThrow();
    expect(srv.requests).toHaveLength(1);
  });
});
