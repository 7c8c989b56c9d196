/**
 * The engine's actions on a real event log and grant service (in-memory SQLite, ManualClock) with
 * fake sessions: alert, kill (own session, or the grant's), revoke, the review flag, the
 * broker filter, and the sampled idle/overrun/volume paths.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/domain/clock.js';
import type { AnomalyConfig, Grant, Template } from '../../../src/domain/types.js';
import { EventLog } from '../../../src/events/log.js';
import type { EventDraft } from '../../../src/events/types.js';
import { Directory } from '../../../src/grants/directory.js';
import { GrantService } from '../../../src/grants/service.js';
import { AnomalyEngine } from '../../../src/monitor/anomaly/engine.js';
import type { Finding } from '../../../src/monitor/anomaly/types.js';
import type { Store } from '../../../src/store/ports.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { TARGETS, USERS, WEB } from '../grants-fixture.js';
import { subject, template, T0 } from './fixtures.js';

interface Rig {
  clock: ManualClock;
  store: Store;
  events: EventLog;
  grants: GrantService;
  engine: AnomalyEngine;
  actions: { f: Finding; ms: number }[];
  grant: Grant;
  tpl: Template;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.engine.close();
    await r.events.settled();
    r.events.close();
    await r.store.close();
  }
});

async function rig(anomaly: Partial<AnomalyConfig>, extra: Partial<Template> = {}): Promise<Rig> {
  const clock = new ManualClock(T0);
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const log = pino({ level: 'silent' });
  const events = new EventLog(store, 'b1', clock, log);
  await events.start();
  const tpl = template(anomaly, extra);
  const grants = new GrantService({ store, events, directory: new Directory(USERS), targets: TARGETS, templates: [tpl], clock, log });
  const actions: { f: Finding; ms: number }[] = [];
  const engine = new AnomalyEngine({ events, store, grants, clock, log, brokerId: 'b1', sampleIntervalMs: 0, onAction: (f, ms) => actions.push({ f, ms }) });
  const g = await grants.request('alice', { ...WEB, template: tpl.name });
  const grant = await grants.approve('bob', g.id);
  const r = { clock, store, events, grants, engine, actions, grant, tpl };
  rigs.push(r);
  return r;
}

const denied = (r: Rig, sessionId: string, command = 'rm -rf /'): EventDraft => ({
  type: 'command.denied',
  ctx: { actor: 'alice', user: 'alice', target: 'web-1', grantId: r.grant.id, incident: 'INC-1', sessionId, source: '127.0.0.1:5000' },
  data: { command, reasons: [], mode: 'interactive' },
});

async function settle(r: Rig): Promise<void> {
  await r.events.settled();
  await r.engine.settled();
  await r.events.settled();
}

describe('AnomalyEngine actions', () => {
  it('alert: writes anomaly.detected and nothing else', async () => {
    const r = await rig({ dangerousCommands: { action: 'alert' } });
    const s = subject({ id: 's-a', grant: r.grant, template: r.tpl });
    r.engine.watch(s);
    await r.events.emit(denied(r, 's-a', 'history -c'));
    await settle(r);
    const found = (await r.store.readEvents(0, 100, { types: ['anomaly.detected'] }))[0];
    expect(found).toMatchObject({ severity: 'critical', actor: 'gatehouse', grantId: r.grant.id, sessionId: 's-a', data: { detector: 'dangerousCommands', action: 'alert', evidence: { command: 'history -c', decision: 'denied' } } });
    expect(s.isLive).toBe(true);
    expect((await r.store.getGrant(r.grant.id))?.reviewRequired).toBe(false);
    expect(r.actions.map((a) => a.f.detector)).toEqual(['dangerousCommands']);
  });

  it('kill: ends the session named by the evidence (reason anomaly, the responder told why) and flags the grant for review', async () => {
    const r = await rig({ deniedCommands: { count: 2, withinMs: 60_000, action: 'kill' } });
    const ends: [string, string | undefined][] = [];
    const a = subject({ id: 's-a', grant: r.grant, template: r.tpl });
    const b = subject({ id: 's-b', grant: r.grant, template: r.tpl });
    a.end = async (reason, message) => {
      ends.push([reason, message]);
      a.live = false;
    };
    r.engine.watch(a);
    r.engine.watch(b);
    await r.events.emit(denied(r, 's-a'), denied(r, 's-a', 'rm -rf /etc'));
    await settle(r);
    expect(ends).toEqual([['anomaly', 'session ended by the broker: 2 commands denied within 1 s (limit 2 in 60 s) (anomaly: deniedCommands); security has been notified']]);
    expect(b.isLive).toBe(true);
    const g = await r.store.getGrant(r.grant.id);
    expect(g).toMatchObject({ state: 'active', reviewRequired: true });
    const found = (await r.store.readEvents(0, 100, { types: ['anomaly.detected'] }))[0];
    expect(found?.data.evidence).toMatchObject({ sessionsEnded: ['s-a'] });
    // `grant review` clears the flag.
    expect((await r.grants.review('carol', r.grant.id, 'checked the recording: a typo loop')).reviewRequired).toBe(false);
  });

  it('kill without a live session of its own ends the grant\'s live sessions on this broker', async () => {
    const r = await rig({ dangerousCommands: { action: 'kill' } });
    const a = subject({ id: 's-a', grant: r.grant, template: r.tpl });
    r.engine.watch(a);
    await r.events.emit({ ...denied(r, 's-never-started', 'unset HISTFILE'), data: { command: 'unset HISTFILE', reasons: [], mode: 'exec' } });
    await settle(r);
    expect(a.isLive).toBe(false);
  });

  it('revoke: GrantService.revoke as gatehouse with reason "anomaly: …"; the review flag too', async () => {
    const r = await rig({ dangerousCommands: { action: 'revoke' } });
    await r.events.emit(denied(r, 's-x', 'curl -s http://x | sh'));
    await settle(r);
    const g = await r.store.getGrant(r.grant.id);
    expect(g).toMatchObject({ state: 'revoked', endedBy: 'gatehouse', reviewRequired: true });
    expect(g?.endReason).toBe('anomaly: dangerous command (fetch-and-run): curl -s http://x | sh');
    const types = (await r.store.readEvents(0, 100)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['anomaly.detected', 'grant.revoked']);
  });

  it('judges only events this broker wrote (one finding per event across brokers)', async () => {
    const r = await rig({ dangerousCommands: { action: 'alert' } });
    const other = new EventLog(r.store, 'b2', r.clock, pino({ level: 'silent' }));
    await other.emit(denied(r, 's-x', 'history -c'));
    await r.events.emit({ type: 'broker.started', ctx: {}, data: { version: 'x', config: 'y' } }); // wakes this broker's feed
    await settle(r);
    expect(await r.store.readEvents(0, 100, { types: ['anomaly.detected'] })).toEqual([]);
  });
});

describe('AnomalyEngine sampler', () => {
  it('ends idle sessions with reason idle, and overrunning ones as an anomaly', async () => {
    const r = await rig({}, { idleTimeoutMs: 5_000 });
    const ends: string[] = [];
    const idle = subject({ id: 's-idle', grant: r.grant, template: r.tpl });
    idle.end = async (reason) => void ends.push(`idle:${reason}`);
    const late = subject({ id: 's-late', grant: { ...r.grant, expiresAt: T0 + 1_000 }, template: template({}) });
    late.end = async (reason) => void ends.push(`late:${reason}`);
    r.engine.watch(idle);
    r.engine.watch(late);
    r.engine.tick();
    r.clock.advance(3_500);
    idle.bytesIn += 1; // busy once
    late.bytesIn += 1;
    r.engine.tick();
    await settle(r);
    expect(ends).toEqual(['late:anomaly']);
    r.clock.advance(5_000);
    r.engine.tick();
    await settle(r);
    expect(ends).toEqual(['late:anomaly', 'idle:idle']);
    const found = await r.store.readEvents(0, 100, { types: ['anomaly.detected'] });
    expect(found.map((e) => [e.sessionId, e.data.detector, e.data.action])).toEqual([
      ['s-late', 'overrun', 'kill'],
      ['s-idle', 'idle', 'kill'],
    ]);
    // Idle, like every detector, says so with its evidence; the idle stretch began at the busy tick.
    expect(found[1]).toMatchObject({ severity: 'critical', actor: 'gatehouse', grantId: r.grant.id, data: { evidence: { idleMs: 5_000, limitMs: 5_000, summary: 'session idle for 5s (the limit is 5s)', sessionsEnded: ['s-idle'] } } });
  });

  it('idle: anomaly.detected is written before the end, and once, even when the end is slow', async () => {
    const r = await rig({}, { idleTimeoutMs: 1_000 });
    const s = subject({ id: 's-slow', grant: r.grant, template: r.tpl });
    const seen: string[] = [];
    let release = (): void => {};
    s.end = async (reason) => {
      seen.push(`end:${reason}:${(await r.store.readEvents(0, 100, { types: ['anomaly.detected'] })).length}`);
      await new Promise<void>((res) => (release = res));
    };
    r.engine.watch(s);
    r.engine.tick();
    for (let i = 0; i < 4; i++) {
      r.clock.advance(1_000);
      r.engine.tick();
      await r.events.settled();
    }
    await new Promise((res) => setTimeout(res, 20));
    expect(seen).toEqual(['end:idle:1']);
    release();
    await settle(r);
    expect(await r.store.readEvents(0, 100, { types: ['anomaly.detected'] })).toHaveLength(1);
    // Housekeeping, not misconduct: no review is owed for an idle end.
    expect((await r.store.getGrant(r.grant.id))?.reviewRequired).toBe(false);
  });

  it('samples output volume on the tick and acts within the same tick', async () => {
    const r = await rig({ outputVolume: { bytes: 10_000, withinMs: 10_000, action: 'kill' } });
    const s = subject({ id: 's-v', grant: r.grant, template: r.tpl });
    r.engine.watch(s);
    r.engine.tick();
    s.bytesOut = 50_000;
    r.clock.advance(250);
    r.engine.tick();
    await settle(r);
    expect(s.isLive).toBe(false);
    expect(r.actions[0]?.f.detector).toBe('outputVolume');
    expect(r.actions[0]?.ms).toBe(0);
  });

  it('stops watching a session when told it ended', async () => {
    const r = await rig({}, { idleTimeoutMs: 1_000 });
    const s = subject({ id: 's-1', grant: r.grant, template: r.tpl });
    const stop = r.engine.watch(s);
    expect(r.engine.size).toBe(1);
    stop();
    expect(r.engine.size).toBe(0);
    r.clock.advance(10_000);
    r.engine.tick();
    expect(s.isLive).toBe(true);
  });
});
