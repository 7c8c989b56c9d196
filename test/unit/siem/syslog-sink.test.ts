/**
 * The syslog sink against local TCP and TLS servers: octet-counted RFC 5424 frames, one persistent
 * connection, reconnection, the resend of what was written just before a connection broke, and TLS
 * with a private CA and a client certificate.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { GENESIS, seal } from '../../../src/events/chain.js';
import type { AuditEvent } from '../../../src/events/types.js';
import { FACILITIES, parseRfc5424, unframe } from '../../../src/siem/rfc5424.js';
import { SyslogSink, type ClientTls } from '../../../src/siem/syslog.js';
import type { Scope } from '../../fixtures/resources.js';
import { testScope, until } from '../../fixtures/scope.js';
import { draft } from '../audit/chain-fixture.js';
import { makePki } from './certs.js';

const scope = testScope();

interface Collector {
  readonly port: number;
  readonly messages: string[];
  readonly connections: Socket[];
  close(): Promise<void>;
}

function collect(server: Server, scope: Scope, event: 'connection' | 'secureConnection' = 'connection'): Promise<Collector> {
  const messages: string[] = [];
  const connections: Socket[] = [];
  server.on(event, (s: Socket) => {
    connections.push(s);
    let rest: Buffer = Buffer.alloc(0);
    s.on('data', (b: Buffer) => {
      const r = unframe(Buffer.concat([rest, b]));
      messages.push(...r.messages);
      rest = r.rest;
    });
    s.on('error', () => {});
  });
  const close = (): Promise<void> =>
    new Promise((r) => {
      for (const c of connections) c.destroy();
      server.close(() => r());
    });
  scope.defer(close);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, messages, connections, close });
    }),
  );
}

function events(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let head = GENESIS;
  for (let i = 0; i < n; i++) {
    const e = seal(head, draft());
    out.push(e);
    head = e;
  }
  return out;
}

function sink(port: number, tls: ClientTls | null = null, over: Partial<ConstructorParameters<typeof SyslogSink>[0]> = {}): SyslogSink {
  const s = new SyslogSink({
    name: 'syslog',
    host: '127.0.0.1',
    port,
    tls,
    format: 'json',
    rfc5424: { facility: FACILITIES.authpriv, appName: 'gatehouse', procId: '1', sdId: 'gatehouse@32473' },
    version: '0.1.0',
    accepts: () => true,
    connectTimeoutMs: 2_000,
    ...over,
  });
  scope.defer(() => s.close());
  return s;
}

const ids = (messages: readonly string[]): string[] => messages.map((m) => (JSON.parse(parseRfc5424(m).msg) as AuditEvent).id);

describe('SyslogSink over TCP', () => {
  it('sends every event as an RFC 5424 message in its own frame, on one connection', async () => {
    const srv = await collect(createServer(), scope);
    const s = sink(srv.port);
    const evs = events(30);
    await s.deliver(evs.slice(0, 10));
    await s.deliver(evs.slice(10));
    await until(() => srv.messages.length === 30);
    expect(ids(srv.messages)).toEqual(evs.map((e) => e.id));
    expect(srv.connections).toHaveLength(1);
    expect(parseRfc5424(srv.messages[0] as string)).toMatchObject({ msgId: 'command.allowed', hostname: 'b1', pri: 86 });
  });

  it('rejects when nothing listens (connection refused), so the worker retries', async () => {
    const srv = await collect(createServer(), scope);
    await srv.close();
    await expect(sink(srv.port).deliver(events(1))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('sends what it wrote just before the server dropped the connection again, first, on the next connection', async () => {
    const srv = await collect(createServer(), scope);
    const s = sink(srv.port);
    const evs = events(20);
    await s.deliver(evs.slice(0, 10));
    await until(() => srv.messages.length === 10);
    for (const c of srv.connections) c.destroy();
    await until(() => s.pendingResend === 10);
    await s.deliver(evs.slice(10));
    await until(() => srv.messages.length === 30);
    expect(srv.connections).toHaveLength(2);
    // The repeats carry the same ids, in order, before the new batch.
    expect(ids(srv.messages)).toEqual([...evs.slice(0, 10), ...evs.slice(0, 10), ...evs.slice(10)].map((e) => e.id));
  });

  it('forgets what it wrote longer ago than the resend window', async () => {
    const srv = await collect(createServer(), scope);
    let now = 1_000_000;
    const s = sink(srv.port, null, { resendWindowMs: 5_000, now: () => now });
    const evs = events(4);
    await s.deliver(evs.slice(0, 2));
    now += 6_000;
    await s.deliver(evs.slice(2));
    await until(() => srv.messages.length === 4);
    for (const c of srv.connections) c.destroy();
    await until(() => s.pendingResend === 2);
  });

  it('formats CEF and OCSF bodies', async () => {
    const srv = await collect(createServer(), scope);
    const evs = events(1);
    await sink(srv.port, null, { format: 'cef' }).deliver(evs);
    await sink(srv.port, null, { format: 'ocsf' }).deliver(evs);
    await until(() => srv.messages.length === 2);
    const [cef, ocsf] = srv.messages.map((m) => parseRfc5424(m).msg);
    expect(cef).toMatch(/^CEF:0\|Gatehouse\|gatehouse\|0\.1\.0\|GH3000\|command\.allowed\|3\|rt=/);
    expect(JSON.parse(ocsf ?? '')).toMatchObject({ class_uid: 1007, metadata: { uid: evs[0]?.id } });
  });
});

describe('SyslogSink over TLS', () => {
  it('verifies the server against the configured CA and presents a client certificate', async () => {
    const pki = await makePki(scope);
    const peers: string[] = [];
    const server = createTlsServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true });
    server.on('secureConnection', (s) => peers.push(String(s.getPeerCertificate().subject?.CN)));
    const srv = await collect(server, scope, 'secureConnection');
    const evs = events(5);
    await sink(srv.port, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }).deliver(evs);
    await until(() => srv.messages.length === 5);
    expect(ids(srv.messages)).toEqual(evs.map((e) => e.id));
    expect(peers).toEqual(['gatehouse-broker']);
  });

  it('does not count a batch delivered when a TLS 1.3 server refuses its client certificate after the handshake', async () => {
    const pki = await makePki(scope);
    const server = createTlsServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const srv = await collect(server, scope, 'secureConnection');
    // No client certificate: the client's handshake completes, then the server's alert arrives.
    await expect(sink(srv.port, { ca: pki.ca }).deliver(events(3))).rejects.toThrow(/certificate|closed the connection/);
    expect(srv.messages).toEqual([]);
  });

  it('refuses a server its CA did not sign', async () => {
    const pki = await makePki(scope);
    const other = await makePki(scope);
    const srv = await collect(createTlsServer({ cert: pki.serverCert, key: pki.serverKey }), scope, 'secureConnection');
    await expect(sink(srv.port, { ca: other.ca }).deliver(events(1))).rejects.toThrow(/certificate/);
    expect(srv.messages).toEqual([]);
  });
});
