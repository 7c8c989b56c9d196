import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../src/domain/clock.js';
import { GatehouseError } from '../../src/domain/errors.js';
import { CATALOGUE, isEventType, SEVERITIES, type EventType } from '../../src/events/catalogue.js';
import { GENESIS } from '../../src/events/chain.js';
import { EventLog } from '../../src/events/log.js';
import { ChainVerifier } from '../../src/events/verify.js';
import type { EventDraft } from '../../src/events/types.js';
import type { Store } from '../../src/store/ports.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

const TYPES = Object.keys(CATALOGUE) as EventType[];
/** The OCSF classes named in catalogue.ts. */
const OCSF = new Map([
  [3002, 'Authentication'],
  [3005, 'User Access Management'],
  [4007, 'SSH Activity'],
  [1007, 'Process Activity'],
  [6003, 'API Activity'],
  [2004, 'Detection Finding'],
  [6002, 'Application Lifecycle'],
]);

describe('event catalogue', () => {
  it('has unique codes of the form GH + 4 digits', () => {
    const codes = TYPES.map((t) => CATALOGUE[t].code);
    for (const c of codes) expect(c).toMatch(/^GH\d{4}$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('groups codes by family (grant 1xxx, session 2xxx, command 3xxx, ...)', () => {
    const family: Record<string, string> = { grant: '1', session: '2', upstream: '2', command: '3', recording: '4', anomaly: '5', broker: '6', config: '6', audit: '6', sink: '7' };
    for (const t of TYPES) expect(CATALOGUE[t].code[2], t).toBe(family[t.split('.')[0] as string]);
  });

  it.each(TYPES)('%s has a zod payload schema, a severity, an OCSF class and a description', (type) => {
    const spec = CATALOGUE[type];
    expect(type).toMatch(/^[a-z]+\.[a-z_]+$/);
    expect(spec.data).toBeInstanceOf(z.ZodObject);
    expect(SEVERITIES).toContain(spec.severity);
    expect(OCSF.get(spec.ocsf.classUid)).toBe(spec.ocsf.className);
    expect(Number.isInteger(spec.ocsf.activityId)).toBe(true);
    expect(spec.ocsf.activityName.length).toBeGreaterThan(0);
    expect(spec.description).toMatch(/^[A-Z].*\.$/);
  });

  it('isEventType accepts catalogue types only', () => {
    expect(isEventType('grant.approved')).toBe(true);
    expect(isEventType('grant.nope')).toBe(false);
    expect(isEventType('constructor')).toBe(false);
  });

  it('keeps the severities the SIEM relies on', () => {
    expect(CATALOGUE['grant.break_glass'].severity).toBe('critical');
    expect(CATALOGUE['upstream.host_key_mismatch'].severity).toBe('critical');
    expect(CATALOGUE['recording.failed'].severity).toBe('critical');
    expect(CATALOGUE['command.denied'].severity).toBe('warning');
    expect(CATALOGUE['grant.approval_refused'].severity).toBe('warning');
  });
});

describe('EventLog.prepare', () => {
  let store: Store;
  let log: EventLog;
  const clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 890));

  async function open(): Promise<void> {
    store = openSqliteStore(':memory:');
    await store.migrate();
    log = new EventLog(store, 'broker-1', clock, pino({ level: 'silent' }));
  }
  afterEach(async () => {
    log.close();
    await store.close();
  });

  it('fills in code, severity, time, broker and nulls for missing context', async () => {
    await open();
    const e = log.prepare({ type: 'grant.denied', ctx: { actor: 'bob', grantId: 'g-1' }, data: { reason: 'no' } });
    expect(e).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      time: '2026-03-04T05:06:07.890Z',
      type: 'grant.denied',
      code: 'GH1003',
      severity: 'notice',
      broker: 'broker-1',
      actor: 'bob',
      user: null,
      target: null,
      grantId: 'g-1',
      incident: null,
      sessionId: null,
      source: null,
      data: { reason: 'no' },
    });
  });

  it('rejects a payload that does not match its schema, naming the field', async () => {
    await open();
    const bad = { type: 'grant.approved', ctx: {}, data: { approvals: '1', needed: 2, mfa: false } } as unknown as EventDraft;
    let error: unknown;
    try {
      log.prepare(bad);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('GH_ERR_INTERNAL');
    expect((error as GatehouseError).message).toMatch(/^event grant\.approved payload invalid: approvals: /);
  });

  it('rejects a missing field and a wrong enum value', async () => {
    await open();
    expect(() => log.prepare({ type: 'grant.denied', ctx: {}, data: {} } as unknown as EventDraft)).toThrow(/^event grant\.denied payload invalid: reason: /);
    const kill = { type: 'anomaly.detected', ctx: {}, data: { detector: 'rate', action: 'explode', evidence: {} } } as unknown as EventDraft;
    expect(() => log.prepare(kill)).toThrow(/payload invalid: action: /);
  });

  it('commits nothing when one draft in a unit is invalid', async () => {
    await open();
    const good: EventDraft = { type: 'grant.denied', ctx: {}, data: { reason: 'ok' } };
    const bad = { type: 'grant.denied', ctx: {}, data: { reason: 7 } } as unknown as EventDraft;
    await expect(log.commit({ events: [good, bad] })).rejects.toMatchObject({ code: 'GH_ERR_INTERNAL' });
    expect(await store.eventHead()).toEqual(GENESIS);
  });

  it('commits valid events into the chain and feeds subscribers in order', async () => {
    await open();
    await log.start();
    const seen: string[] = [];
    log.subscribe((e) => seen.push(`${e.seq}:${e.type}`));
    await log.emit({ type: 'broker.started', ctx: {}, data: { version: '0.1.0', config: '/etc/gh.yaml' } }, { type: 'broker.stopped', ctx: {}, data: { sessionsEnded: 0 } });
    await log.settled();
    expect(seen).toEqual(['1:broker.started', '2:broker.stopped']);
    const v = new ChainVerifier({ trustedKeys: [] });
    for (const e of await store.readEvents(0, 10)) v.push(e);
    expect(v.finish()).toMatchObject({ ok: true, events: 2 });
  });
});
