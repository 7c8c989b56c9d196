/**
 * The delivery loop: at least once (the cursor moves only after delivery), retries with backoff,
 * survives a restart from its cursor, raises `sink.backlog_full` while a sink is down, treats
 * configuration errors with the maximum backoff, outlives store and hook failures, and never lets
 * one stuck sink hold up another.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/domain/clock.js';
import { EventLog } from '../../../src/events/log.js';
import type { AuditEvent, EventDraft } from '../../../src/events/types.js';
import { DeliveryError, type Sink } from '../../../src/siem/types.js';
import { SinkWorker, type WorkerOptions } from '../../../src/siem/worker.js';
import type { Store } from '../../../src/store/ports.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { sleep, testScope, until } from '../../fixtures/scope.js';
import { join } from 'node:path';

const scope = testScope();
const log = pino({ level: 'silent' });
const ev: EventDraft = { type: 'grant.denied', ctx: { actor: 'bob' }, data: { reason: 'no' } };

class TestSink implements Sink {
  readonly got: AuditEvent[] = [];
  attempts = 0;
  failWith: Error | null = null;
  stuck = false;
  constructor(
    readonly name: string,
    readonly accepts: (e: AuditEvent) => boolean = () => true,
  ) {}
  async deliver(batch: readonly AuditEvent[]): Promise<void> {
    this.attempts++;
    if (this.stuck) await new Promise(() => {});
    if (this.failWith) throw this.failWith;
    this.got.push(...batch);
  }
  async close(): Promise<void> {}
}

async function setup() {
  const dir = await scope.tempDir('gh-worker-');
  const store = openSqliteStore(join(dir, 'gh.db'));
  await store.migrate();
  const events = new EventLog(store, 'b1', systemClock, log);
  await events.start();
  scope.defer(async () => {
    events.close();
    await store.close();
  });
  return { store, events };
}

/** The real store, with its first `n` cursor writes failing (a transient store error), until heal(). */
function failingCursor(inner: Store, n: number): { store: Store; readonly failures: number; heal(): void } {
  let left = n;
  let failures = 0;
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'setCursor') {
        return async (...args: Parameters<Store['setCursor']>) => {
          if (left > 0) {
            left--;
            failures++;
            throw new Error('SQLITE_BUSY: database is locked');
          }
          return target.setCursor(...args);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store,
    get failures() {
      return failures;
    },
    heal() {
      left = 0;
    },
  };
}

function worker(sink: Sink, store: Store, events: EventLog, opts: WorkerOptions = {}): SinkWorker {
  const w = new SinkWorker(sink, store, events, log, { minBackoffMs: 5, maxBackoffMs: 50, ...opts });
  const unsubscribe = events.subscribe(() => w.wake());
  scope.defer(async () => {
    unsubscribe();
    await w.stop(0);
  });
  return w;
}

describe('SinkWorker', () => {
  it('delivers every event once the sink recovers, and moves the cursor only after delivery', async () => {
    const { store, events } = await setup();
    const sink = new TestSink('s');
    sink.failWith = new Error('down');
    const w = worker(sink, store, events);
    await w.start();
    for (let i = 0; i < 20; i++) await events.emit(ev);
    await until(() => sink.attempts >= 3);
    expect(await store.getCursor('s')).toBe(0);
    sink.failWith = null;
    await until(async () => (await store.getCursor('s')) === 20);
    expect(sink.got.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('resumes from its cursor after a restart', async () => {
    const { store, events } = await setup();
    const first = new TestSink('s');
    const w1 = worker(first, store, events, { batchSize: 5 });
    await w1.start();
    for (let i = 0; i < 10; i++) await events.emit(ev);
    await until(() => first.got.length === 10);
    await w1.stop(0);
    for (let i = 0; i < 5; i++) await events.emit(ev);
    const second = new TestSink('s');
    await worker(second, store, events).start();
    await until(() => second.got.length === 5);
    expect(second.got.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15]);
  });

  it('passes only accepted events, but moves past the others', async () => {
    const { store, events } = await setup();
    const sink = new TestSink('s', (e) => e.seq % 2 === 0);
    await worker(sink, store, events).start();
    for (let i = 0; i < 6; i++) await events.emit(ev);
    await until(async () => (await store.getCursor('s')) === 6);
    expect(sink.got.map((e) => e.seq)).toEqual([2, 4, 6]);
  });

  it('raises sink.backlog_full once while the sink is down and the lag reaches the limit, and reports the lag', async () => {
    const { store, events } = await setup();
    const sink = new TestSink('siem');
    sink.failWith = new Error('down');
    const lags: number[] = [];
    await worker(sink, store, events, { backlogAlert: 10, onLag: (_s, lag) => lags.push(lag) }).start();
    for (let i = 0; i < 15; i++) await events.emit(ev);
    const alerts = await until(async () => {
      const a = await store.readEvents(0, 100, { types: ['sink.backlog_full'] });
      return a.length > 0 && a;
    });
    await sleep(100);
    expect(await store.readEvents(0, 100, { types: ['sink.backlog_full'] })).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: 'critical', data: { sink: 'siem', limit: 10 } });
    expect(Number(alerts[0]?.data.backlog)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...lags)).toBeGreaterThanOrEqual(10);
    sink.failWith = null;
    await until(() => sink.got.length === 16);
  });

  it('retries a configuration error at the maximum backoff, never dropping the batch', async () => {
    const { store, events } = await setup();
    const sink = new TestSink('s');
    sink.failWith = new DeliveryError('HTTP 401', { permanent: true });
    await worker(sink, store, events, { minBackoffMs: 1, maxBackoffMs: 150 }).start();
    await events.emit(ev);
    await sleep(400);
    // 1 ms backoff would allow hundreds of attempts; the maximum backoff allows about three.
    expect(sink.attempts).toBeGreaterThanOrEqual(2);
    expect(sink.attempts).toBeLessThanOrEqual(4);
    sink.failWith = null;
    await until(() => sink.got.length === 1);
  });

  it('survives failed cursor writes: every event still arrives, once, in order', async () => {
    const { store, events } = await setup();
    const flaky = failingCursor(store, 2);
    const sink = new TestSink('s');
    await worker(sink, flaky.store, events, { batchSize: 3 }).start();
    for (let i = 0; i < 10; i++) await events.emit(ev);
    await until(async () => (await store.getCursor('s')) === 10);
    expect(flaky.failures).toBe(2);
    expect(sink.got.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    // Still alive afterwards: later events arrive too.
    await events.emit(ev);
    await until(async () => (await store.getCursor('s')) === 11);
    expect(sink.got.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
  });

  it('keeps the lag gauge and the backlog alarm going while the cursor cannot be stored', async () => {
    const { store, events } = await setup();
    const flaky = failingCursor(store, Infinity);
    const sink = new TestSink('s');
    const lags: number[] = [];
    await worker(sink, flaky.store, events, { batchSize: 1, backlogAlert: 5, onLag: (_s, lag) => lags.push(lag) }).start();
    await events.emit(ev);
    await until(() => sink.got.length === 1 && flaky.failures >= 1);
    for (let i = 0; i < 6; i++) await events.emit(ev);
    const alerts = await until(async () => {
      const a = await store.readEvents(0, 100, { types: ['sink.backlog_full'] });
      return a.length > 0 && a;
    });
    expect(alerts[0]).toMatchObject({ data: { sink: 's', limit: 5 } });
    expect(Math.max(...lags)).toBeGreaterThanOrEqual(5);
    flaky.heal();
    const head = (await store.eventHead()).seq;
    await until(async () => (await store.getCursor('s')) >= head);
    expect(sink.got.map((e) => e.seq)).toEqual(Array.from({ length: sink.got.length }, (_, i) => i + 1));
  });

  it('ignores a throwing onDelivered hook', async () => {
    const { store, events } = await setup();
    const sink = new TestSink('s');
    let calls = 0;
    const onDelivered = (): void => {
      if (++calls === 1) throw new Error('metrics broke');
    };
    await worker(sink, store, events, { batchSize: 2, onDelivered }).start();
    for (let i = 0; i < 5; i++) await events.emit(ev);
    await until(async () => (await store.getCursor('s')) === 5);
    expect(sink.got.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toBe(3);
  });

  it('restarts its loop when something else escapes it, and resumes where it was', async () => {
    const { store, events } = await setup();
    let throws = 2;
    const sink = new TestSink('s', () => {
      if (throws > 0) {
        throws--;
        throw new Error('filter bug');
      }
      return true;
    });
    await worker(sink, store, events, { restartDelayMs: 10 }).start();
    for (let i = 0; i < 4; i++) await events.emit(ev);
    await until(async () => (await store.getCursor('s')) === 4);
    expect(throws).toBe(0);
    expect(sink.got.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('a stuck sink holds up neither another sink nor the event log', async () => {
    const { store, events } = await setup();
    const stuck = new TestSink('stuck');
    stuck.stuck = true;
    const fine = new TestSink('fine');
    await worker(stuck, store, events).start();
    await worker(fine, store, events).start();
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await events.emit(ev);
    const emitMs = performance.now() - t0;
    await until(() => fine.got.length === 200);
    expect(emitMs).toBeLessThan(2_000);
    expect(stuck.got).toHaveLength(0);
  });
});
