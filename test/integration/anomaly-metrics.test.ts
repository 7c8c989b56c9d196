/**
 * Prometheus metrics after a real session (OpenSSH client, local sandbox target) with a denied
 * command that fires a detector: active sessions while it runs and after, commands by decision,
 * anomalies by detector and action, sessions by end reason, and the lag of a delivering sink and of
 * one whose receiver is down — each equal to what the audit trail says.
 */
import { describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;

async function scrape(h: Harness): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${h.broker.ports.http ?? 0}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics after a session', () => {
  it('counts active sessions, denied commands, anomalies and sink lag as the audit trail has them', async () => {
    const h = await startHarness(scope, {
      extra: { listen: { ssh: '127.0.0.1:0', grpc: '127.0.0.1:0', http: '127.0.0.1:0' } },
      sinks: [{ file: { path: 'data/events.jsonl' }, name: 'audit-file' }, { http: { url: 'http://127.0.0.1:1/collector', hmacSecret: 'a-test-secret-of-some-length' }, name: 'siem-down' }],
      templateFields: { anomaly: { deniedCommands: { count: 1, within: '1m', action: 'alert' }, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null } },
    });
    await h.grant({ targets: ['sandbox'] });
    expect(sample(await scrape(h), 'gatehouse_sessions_active')).toBe(0);

    const pty = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
    await pty.waitFor(PROMPT);
    await until(async () => (await h.events('session.start')).length === 1);
    expect(sample(await scrape(h), 'gatehouse_sessions_active')).toBe(1);

    let mark = pty.mark();
    pty.write('rm -rf /tmp/evidence\r');
    await pty.waitFor(PROMPT, 5_000, mark + 10);
    await until(async () => (await h.events('anomaly.detected')).length === 1);
    mark = pty.mark();
    pty.write('echo still-here\r');
    await pty.waitFor('still-here\r\n', 5_000, mark + 20);
    pty.write('exit\r');
    expect(await pty.exited).toBe(0);
    await until(async () => (await h.events('session.end')).length === 1);

    const text = await scrape(h);
    const denied = await h.events('command.denied');
    const allowed = await h.events('command.allowed');
    expect(denied.map((e) => e.data.command)).toEqual(['rm -rf /tmp/evidence']);
    expect(sample(text, 'gatehouse_sessions_active')).toBe(0);
    expect(sample(text, 'gatehouse_commands_total{decision="deny"}')).toBe(1);
    expect(sample(text, 'gatehouse_commands_total{decision="allow"}')).toBe(allowed.length);
    expect(allowed.length).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gatehouse_anomalies_total{detector="deniedCommands",action="alert"}')).toBe(1);
    expect(sample(text, 'gatehouse_sessions_total{reason="exit"}')).toBe(1);

    // Sink lag: the file sink catches up to 0; the one whose receiver is down owes every event.
    const head = async (): Promise<number> => (await h.broker.store.eventHead()).seq;
    await until(async () => sample(await scrape(h), 'gatehouse_sink_lag_events{sink="audit-file"}') === 0, 5_000, 'the file sink to catch up');
    await until(async () => sample(await scrape(h), 'gatehouse_sink_lag_events{sink="siem-down"}') === (await head()), 10_000, 'the dead sink to report its whole backlog');
    expect(await head()).toBeGreaterThan(5);
  });
});
