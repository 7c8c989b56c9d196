/**
 * The syslog sink against a real rsyslogd (Debian's, on a loopback port, writing to a temp file):
 * every event arrives as RFC 5424 that rsyslog itself parses, carrying every field; and with
 * rsyslog stopped during a session and started again, every event the store holds arrives, in
 * order, and nothing else (repeats only with the same id and content); and over TLS (rsyslog's
 * GnuTLS driver, package rsyslog-gnutls) with a private CA and a client certificate.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCef } from '../../src/siem/cef.js';
import { parseRfc5424 } from '../../src/siem/rfc5424.js';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { startRsyslog, type SyslogLine } from '../fixtures/rsyslog.js';
import { sleep, testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';
import { makePki } from '../unit/siem/certs.js';

const scope = testScope();

/** The JSON-body messages rsyslog wrote, as events, in arrival order. */
function received(lines: readonly SyslogLine[], app = 'gatehouse'): AuditEvent[] {
  return lines.filter((l) => l.app === app).map((l) => JSON.parse(l.msg) as AuditEvent);
}

/** Runs an exec session and waits until the broker has recorded its end. */
async function session(h: Harness, command: string): Promise<void> {
  const before = (await h.events('recording.closed')).length;
  const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), command);
  expect(r.code).toBe(0);
  await until(async () => (await h.events('recording.closed')).length > before, 5_000, 'the session to end');
}

/** Waits until rsyslog holds every stored event under `app`; returns the received list. */
async function allArrived(h: Harness, lines: () => Promise<SyslogLine[]>, app: string): Promise<{ stored: AuditEvent[]; got: AuditEvent[] }> {
  return until(
    async () => {
      const stored = await h.events();
      const got = received(await lines(), app);
      const ids = new Set(got.map((e) => e.id));
      return stored.length > 0 && stored.every((e) => ids.has(e.id)) && { stored, got };
    },
    15_000,
    `rsyslog to receive every stored event (${app})`,
  );
}

describe('syslog sink → rsyslog', () => {
  it('delivers every event as RFC 5424 with every field, and loses none across an rsyslog outage', async () => {
    const rs = await startRsyslog(scope);
    const h = await startHarness(scope, {
      sinks: [
        { name: 'rsyslog-json', syslog: { host: '127.0.0.1', port: rs.port, format: 'json', maxBackoff: '500ms' } },
        { name: 'rsyslog-cef', syslog: { host: '127.0.0.1', port: rs.port, format: 'cef', appName: 'gatehouse-cef', facility: 'local4', maxBackoff: '500ms' } },
      ],
    });
    await h.grant({ targets: ['sandbox'] });
    await session(h, 'echo one');
    await h.broker.checkpointer.checkpoint();

    // 1. Everything arrives, and rsyslog parsed it as RFC 5424 with our header fields.
    const first = await allArrived(h, () => rs.lines(), 'gatehouse');
    const lines = (await rs.lines()).filter((l) => l.app === 'gatehouse');
    for (const l of lines) {
      const e = JSON.parse(l.msg) as AuditEvent;
      expect(l).toMatchObject({ protocol: '1', host: 'test-broker', msgid: e.type, procid: String(process.pid), time: e.time });
      expect(Number(l.pri)).toBe(10 * 8 + { info: 6, notice: 5, warning: 4, critical: 2 }[e.severity]);
      // Our own strict parse of the exact bytes rsyslog received.
      const p = parseRfc5424(l.raw);
      expect(p.sd.get('gatehouse@32473')).toEqual(
        Object.fromEntries(
          (['id', 'seq', 'type', 'code', 'severity', 'broker', 'actor', 'user', 'target', 'grantId', 'incident', 'sessionId', 'source', 'hash'] as const).filter((f) => e[f] !== null).map((f) => [f, String(e[f])]),
        ),
      );
      expect(l.sd).toBe(l.raw.slice(l.raw.indexOf('[gatehouse@32473'), l.raw.indexOf('] {') + 1));
    }
    const stored = new Map(first.stored.map((e) => [e.id, e]));
    for (const e of first.got) expect(e).toEqual(stored.get(e.id));
    expect(first.got.map((e) => e.type)).toEqual(expect.arrayContaining(['grant.requested', 'grant.approved', 'grant.activated', 'session.start', 'command.allowed', 'session.end', 'recording.closed', 'audit.checkpoint']));

    // The CEF copy: same events, CEF bodies, facility local4.
    const cef = await until(async () => {
      const c = (await rs.lines()).filter((l) => l.app === 'gatehouse-cef');
      return c.length >= first.stored.length && c;
    });
    const cefOne = cef.find((l) => l.msgid === 'session.start') as SyslogLine;
    const start = first.stored.find((e) => e.type === 'session.start') as AuditEvent;
    expect(Number(cefOne.pri)).toBe(20 * 8 + 5);
    expect(parseCef(cefOne.msg)).toMatchObject({ header: ['CEF:0', 'Gatehouse', 'gatehouse', expect.any(String), 'GH2000', 'session.start', '5'], ext: { externalId: start.id, cn1: String(start.seq), cs3: start.sessionId, dhost: 'sandbox' } });

    // 2. An outage: rsyslog stops, a session runs, rsyslog comes back.
    await rs.stop();
    await session(h, 'echo two');
    await h.grant({ targets: ['sandbox'], incident: 'INC-2' });
    await sleep(800); // the sink has tried, and failed, meanwhile
    expect(await h.broker.store.getCursor('rsyslog-json')).toBeLessThan((await h.broker.store.eventHead()).seq);
    await rs.start();
    const after = await allArrived(h, () => rs.lines(), 'gatehouse');

    // Exactly the stored set, in order of first arrival; repeats carry the same id and content.
    const firstSeen = new Map<string, AuditEvent>();
    for (const e of after.got) {
      const seen = firstSeen.get(e.id);
      if (seen) expect(e).toEqual(seen);
      else firstSeen.set(e.id, e);
    }
    const order = [...firstSeen.values()].map((e) => e.seq);
    expect(order).toEqual(after.stored.map((e) => e.seq));
    expect(after.stored.some((e) => e.type === 'session.start' && e.incident === 'INC-1' && e.seq > first.stored.length)).toBe(true);

    // 3. A crash: rsyslog is SIGKILLed right after the sink handed it a batch. What it held in
    // memory is gone; the sink sends what it wrote in its resend window again on reconnect.
    await h.grant({ targets: ['sandbox'], incident: 'INC-3' });
    await until(async () => (await h.broker.store.getCursor('rsyslog-json')) === (await h.broker.store.eventHead()).seq);
    await rs.kill();
    await rs.start();
    await h.grant({ targets: ['sandbox'], incident: 'INC-4' });
    const crashed = await allArrived(h, () => rs.lines(), 'gatehouse');
    expect(new Set(crashed.got.map((e) => e.id)).size).toBe(crashed.stored.length);
  });

  it('delivers over TLS to rsyslog (GnuTLS driver), verifying the server and presenting a client certificate', async () => {
    const pki = await makePki(scope);
    const file = (f: string): string => join(pki.dir, f);
    const rs = await startRsyslog(scope, { tls: { ca: pki.caPath, cert: file('server.pem'), key: file('server.key') } });
    const h = await startHarness(scope, {
      sinks: [
        { name: 'rsyslog-tls', syslog: { host: '127.0.0.1', port: rs.port, format: 'json', maxBackoff: '500ms', tls: { ca: pki.caPath, cert: pki.clientCertPath, key: pki.clientKeyPath } } },
        // No client certificate: rsyslog (authMode x509/certvalid) refuses it; nothing of it arrives.
        { name: 'rsyslog-anon', syslog: { host: '127.0.0.1', port: rs.port, format: 'json', appName: 'gatehouse-anon', maxBackoff: '500ms', tls: { ca: pki.caPath } } },
      ],
    });
    await h.grant({ targets: ['sandbox'] });
    await session(h, 'echo over-tls');
    const { stored, got } = await allArrived(h, () => rs.lines(), 'gatehouse');
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (const e of got) expect(e).toEqual(byId.get(e.id));
    expect(got.map((e) => e.type)).toEqual(expect.arrayContaining(['grant.approved', 'session.start', 'session.end', 'recording.closed']));
    await sleep(500);
    expect((await rs.lines()).filter((l) => l.app === 'gatehouse-anon')).toEqual([]);
    // ...and its events are not counted as delivered: its cursor has not moved.
    expect(await h.broker.store.getCursor('rsyslog-anon')).toBe(0);
  });
});
