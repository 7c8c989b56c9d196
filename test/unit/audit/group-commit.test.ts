/**
 * Group commit in the event log, on SQLite and PostgreSQL: concurrent commits share transactions,
 * sequence numbers follow call order, each caller gets its own events, and a unit that fails its
 * own check (an optimistic grant version) fails alone while the rest of its group commits.
 */
import pino from 'pino';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/domain/clock.js';
import { verifyStore } from '../../../src/events/audit-store.js';
import { seal } from '../../../src/events/chain.js';
import { EventLog } from '../../../src/events/log.js';
import type { EventDraft } from '../../../src/events/types.js';
import type { Store } from '../../../src/store/ports.js';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { grant } from '../../store/builders.js';
import { freshSchema } from '../../fixtures/postgres.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();
const log = pino({ level: 'silent' });
const ev = (reason: string): EventDraft => ({ type: 'grant.denied', ctx: { actor: 'bob' }, data: { reason } });

/** The store with every commit counted, and the first one held until `release()`. */
function counting(store: Store): { store: Store; commits: number[]; release: () => void } {
  const commits: number[] = [];
  let release!: () => void;
  let gate: Promise<void> | null = new Promise((r) => (release = r));
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === 'commit') {
        return async (...args: Parameters<Store['commit']>) => {
          commits.push(args[0].events.length);
          const g = gate;
          gate = null;
          if (g) await g;
          return target.commit(...args);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, commits, release };
}

const STORES: [string, () => Promise<Store>][] = [
  ['sqlite', async () => openSqliteStore(join(await scope.tempDir('gh-gc-'), 'gh.db'))],
  ['postgres', async () => openPostgresStore(await freshSchema(scope), log)],
];

describe.each(STORES)('group commit (%s)', (_name, open) => {
  async function setup() {
    const raw = await open();
    await raw.migrate();
    const c = counting(raw);
    const events = new EventLog(c.store, 'b1', systemClock, log);
    await events.start();
    scope.defer(async () => {
      await events.settled();
      events.close();
      await raw.close();
    });
    return { ...c, raw, events };
  }

  it('groups commits that arrive while one is in flight, in call order, each caller getting its own events', async () => {
    const { events, commits, release, raw } = await setup();
    const first = events.emit(ev('first'));
    const rest = Array.from({ length: 50 }, (_, i) => events.commit({ events: [ev(`a${i}`), ev(`b${i}`)] }));
    await new Promise((r) => setTimeout(r, 20));
    release();
    const [one, ...others] = await Promise.all([first, ...rest]);
    expect(one?.map((e) => e.seq)).toEqual([1]);
    others.forEach((got, i) => {
      expect(got.map((e) => e.data.reason)).toEqual([`a${i}`, `b${i}`]);
      expect(got.map((e) => e.seq)).toEqual([2 + 2 * i, 3 + 2 * i]);
    });
    expect(commits).toEqual([1, 100]);
    expect((await verifyStore(raw, { trustedKeys: [] })).ok).toBe(true);
  });

  it('a unit that fails its own version check fails alone; the others in its group commit', async () => {
    const { events, release, raw } = await setup();
    const g = grant();
    await raw.commit({ grants: [{ grant: g, expectVersion: null }], events: [] }, seal);
    const held = events.emit(ev('held'));
    const a = events.commit({ grants: [{ grant: { ...g, state: 'denied', version: 2 }, expectVersion: 1 }], events: [ev('a')] });
    const b = events.commit({ grants: [{ grant: { ...g, state: 'revoked', version: 2 }, expectVersion: 1 }], events: [ev('b')] });
    const c = events.emit(ev('c'));
    release();
    await held;
    // a and b were concurrent, so either may win the version check; exactly one does.
    const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
    const winner = ra?.status === 'fulfilled' ? 'a' : 'b';
    expect([ra?.status, rb?.status].sort()).toEqual(['fulfilled', 'rejected']);
    expect(((winner === 'a' ? rb : ra) as PromiseRejectedResult).reason).toMatchObject({ code: 'GH_ERR_CONFLICT' });
    expect(rc?.status).toBe('fulfilled');
    expect((await raw.getGrant(g.id))?.state).toBe(winner === 'a' ? 'denied' : 'revoked');
    const reasons = (await raw.readEvents(0, 10)).map((e) => e.data.reason);
    expect(reasons[0]).toBe('held');
    expect(reasons.slice(1).sort()).toEqual([winner, 'c'].sort()); // the loser's event is not in the chain
    expect((await verifyStore(raw, { trustedKeys: [] })).ok).toBe(true);
  });
});
