/**
 * Session anomalies end to end, with the real OpenSSH client: output volume (a `seq` flood), a
 * second session from a new address (`ssh -b 127.0.0.2`; the broker listens on 127.0.0.1), a
 * connection from outside the allowed networks, and idle sessions.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;
const LIMIT_MS = 100;
/**
 * The 100 ms budget is the broker's. On a loaded CI machine the process is not always scheduled;
 * time the event loop demonstrably did not get (measured from `lag.reset()`, just before the
 * trigger, to the assertion) is added back, so the bound stays ~100 ms on a quiet machine and the
 * test still fails when the broker is slow.
 */
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
beforeEach(() => lag.reset());
const budget = (): number => LIMIT_MS + lag.max / 1e6;
/** The sampler's period (engine default): sampled detectors see a crossing at most this late. */
const TICK_MS = 250;
const FROM_2 = ['-b', '127.0.0.2'];
/** How long the gateway lets queued output drain to the client when a session ends (src/gateway/relay.ts). */
const FINISH_GRACE_MS = 250;

/** ms from one event to another; GATEHOUSE_TEST_LATENCY=1 prints each measurement. */
const ms = (a: AuditEvent, b: AuditEvent): number => {
  const d = Date.parse(b.time) - Date.parse(a.time);
  if (process.env.GATEHOUSE_TEST_LATENCY) console.log(`latency ${a.type} -> ${b.type}: ${d} ms`);
  return d;
};
const only = (detectors: Record<string, unknown>): Record<string, unknown> => ({ deniedCommands: null, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null, ...detectors });

async function shell(h: Harness): Promise<{ pty: PtySsh; start: AuditEvent }> {
  const pty = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
  await pty.waitFor(PROMPT);
  const start = await until(async () => (await h.events('session.start')).find((e) => e.data.kind === 'shell'));
  lag.reset();
  return { pty, start };
}

const endOf = (h: Harness, sessionId: string | null): Promise<AuditEvent> => until(async () => (await h.events('session.end')).find((e) => e.sessionId === sessionId), 5_000, `the end of ${sessionId}`);

describe('outputVolume', () => {
  it('kills a session flooding output past the limit, sampled, never per chunk', async () => {
    // session.end is written once the recording is closed and hashed; a small recording cap keeps
    // that bookkeeping (hashing tens of MB of flood) out of the kill's measurement.
    const h = await startHarness(scope, { recordings: { maxOutputBytes: 64 * 1024 }, templateFields: { anomaly: only({ outputVolume: { bytes: 1024 * 1024, within: '10s', action: 'kill' } }) } });
    await h.grant({ targets: ['sandbox'] });
    const t0 = Date.now();
    lag.reset();
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'seq 1 100000000');
    expect(r.code).toBe(255);
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'outputVolume', action: 'kill', evidence: { limit: 1024 * 1024, withinMs: 10_000 } });
    expect((found.data.evidence as { bytes: number }).bytes).toBeGreaterThan(1024 * 1024);
    const end = await endOf(h, found.sessionId);
    expect(end.data.reason).toBe('anomaly');
    // What the responder is told. (Behind megabytes of queued output the line may not make it to
    // the client before the channel closes, so it is checked where the broker recorded it.)
    expect(end.data.message).toMatch(/^session ended by the broker: output volume: [\d.]+ [KMG]iB in [\d.]+ s \(limit 1\.0 MiB in 10 s\) \(anomaly: outputVolume\)/);
    // The upstream is closed at once; the end is recorded after the output already relayed has
    // drained to the client, which the gateway allows up to FINISH_GRACE_MS (250 ms, relay.ts).
    expect(ms(found, end)).toBeLessThan(budget() + FINISH_GRACE_MS);
    // seq would have printed ~900 MB; the kill came within a tick or two of the first MiB.
    expect(end.data.bytesOut as number).toBeLessThan(800 * 1024 * 1024);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('leaves ordinary output alone', async () => {
    const h = await startHarness(scope, { templateFields: { anomaly: only({ outputVolume: { bytes: 1024 * 1024, within: '10s', action: 'kill' } }) } });
    await h.grant({ targets: ['sandbox'] });
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'seq 1 50000');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(288_894);
    await h.broker.events.settled();
    expect(await h.events('anomaly.detected')).toHaveLength(0);
  });
});

describe('newSource', () => {
  it('kills a second concurrent session from a new address; the first keeps running', async () => {
    const h = await startHarness(scope, { templateFields: { anomaly: only({ newSource: { action: 'kill' } }) } });
    await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    // Another session from the same address is fine.
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo same')).stdout.toString()).toBe('same\n');
    await h.broker.events.settled();
    expect(await h.events('anomaly.detected')).toHaveLength(0);

    lag.reset();
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'sleep 30', { extra: FROM_2 });
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('a second session on grant');
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'newSource', action: 'kill', evidence: { source: '127.0.0.2', live: [{ sessionId: start.sessionId, source: '127.0.0.1' }] } });
    const second = (await h.events('session.start')).find((e) => e.sessionId === found.sessionId) as AuditEvent;
    expect(second.source).toMatch(/^127\.0\.0\.2:/);
    const end = await endOf(h, found.sessionId);
    expect(end.data.reason).toBe('anomaly');
    expect(ms(second, found)).toBeLessThan(budget());
    expect(ms(second, end)).toBeLessThan(budget());
    const mark = pty.mark();
    pty.write('echo first-alive\r');
    await pty.waitFor('first-alive\r\n', 5_000, mark);
    expect((await h.broker.store.getSession(start.sessionId as string))?.state).toBe('live');
  });
});

describe('outsideNetworks', () => {
  it('revokes the grant when a connection comes from outside sourceNetworks; live sessions end within 100 ms', async () => {
    const h = await startHarness(scope, { templateFields: { sourceNetworks: ['127.0.0.1/32'], anomaly: only({ outsideNetworks: { action: 'revoke' } }) } });
    const g = await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi', { extra: FROM_2 });
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('connections from 127.0.0.2 are outside the networks template diagnose allows (127.0.0.1/32)');
    expect(await pty.exited).toBe(255);
    expect(pty.output).toContain(`[gatehouse] grant ${g.id} was revoked by gatehouse: anomaly: a connection for grant ${g.id} from 127.0.0.2, outside the allowed networks (127.0.0.1/32)`);
    const refused = (await h.events('session.refused')).find((e) => e.data.error === 'GH_ERR_SOURCE_NETWORK') as AuditEvent;
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'outsideNetworks', action: 'revoke', evidence: { source: '127.0.0.2', allowed: ['127.0.0.1/32'] } });
    const revoked = await until(async () => (await h.events('grant.revoked'))[0]);
    const end = await endOf(h, start.sessionId);
    expect(end.data.reason).toBe('revoked');
    expect(ms(refused, found)).toBeLessThan(budget());
    expect(ms(refused, revoked)).toBeLessThan(budget());
    expect(ms(refused, end)).toBeLessThan(budget());
  });

  it('kill: ends the grant\'s other sessions and keeps the grant', async () => {
    const h = await startHarness(scope, { templateFields: { sourceNetworks: ['127.0.0.1/32'], anomaly: only({ outsideNetworks: { action: 'kill' } }) } });
    const g = await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi', { extra: FROM_2 })).code).toBe(255);
    expect(await pty.exited).toBe(255);
    const refused = (await h.events('session.refused')).find((e) => e.data.error === 'GH_ERR_SOURCE_NETWORK') as AuditEvent;
    const end = await endOf(h, start.sessionId);
    expect(end.data.reason).toBe('anomaly');
    expect(ms(refused, end)).toBeLessThan(budget());
    expect(await h.broker.store.getGrant(g.id)).toMatchObject({ state: 'active', reviewRequired: true });
  });
});

describe('idleTimeout', () => {
  it('ends a session with no input or output for the limit (reason idle); a busy one keeps going', async () => {
    const h = await startHarness(scope, { templateFields: { idleTimeout: '1s' } });
    await h.grant({ targets: ['sandbox'] });
    const idle = await shell(h);
    const busy = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
    await busy.waitFor(PROMPT);
    const started = Date.now();
    let n = 0;
    const typing = setInterval(() => busy.write(`echo tick${n++}\r`), 200);
    scope.defer(() => clearInterval(typing));
    expect(await idle.pty.exited).toBe(255);
    const idleFor = Date.now() - started;
    clearInterval(typing);
    expect(idle.pty.output).toContain('[gatehouse] session idle for 1s');
    const end = await endOf(h, idle.start.sessionId);
    expect(end.data.reason).toBe('idle');
    // The limit, plus at most a sampling tick or two (and the client's own exit).
    expect(idleFor).toBeLessThan(1_000 + 3 * TICK_MS + 500 + lag.max / 1e6);
    expect(Date.parse(end.time) - Date.parse(idle.start.time)).toBeGreaterThanOrEqual(1_000);
    const mark = busy.mark();
    busy.write('echo busy-alive\r');
    await busy.waitFor('busy-alive\r\n', 5_000, mark);
    // One finding, about the idle session (none about the busy one), written before its end.
    const found = await h.events('anomaly.detected');
    expect(found.map((e) => [e.sessionId, e.data.detector, e.data.action])).toEqual([[idle.start.sessionId, 'idle', 'kill']]);
    const evidence = found[0]?.data.evidence as { idleMs: number; limitMs: number; summary: string };
    expect(evidence.limitMs).toBe(1_000);
    expect(evidence.summary).toMatch(/^session idle for 1s(\d+ms)? \(the limit is 1s\)$/);
    expect(evidence.idleMs).toBeGreaterThanOrEqual(1_000);
    expect(found[0]?.seq).toBeLessThan(end.seq);
    // An idle end owes no review.
    expect((await h.broker.store.listGrants({ limit: 10 }))[0]?.reviewRequired).toBe(false);
  });
});
