/**
 * Approvals: roles, separation of duties through aliases (shared key, token, TOTP secret), distinct
 * approvers, activation, refusal events, concurrent approvals, TOTP with replay protection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/ports.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { BOB_TOTP, DB, refusal, WEB, world, type World, totpCode } from './grants-fixture.js';

let w: World;
afterEach(async () => w.close());
async function fresh(store?: Store): Promise<World> {
  w = await world(store);
  return w;
}

describe('approve', () => {
  it('one approval activates a 1-approval grant: approvedAt, expiresAt = approvedAt + duration, events in order', async () => {
    const { grants, clock, all } = await fresh();
    const g = await grants.request('alice', WEB);
    clock.advance(90_000);
    const a = await grants.approve('bob', g.id, {}, '10.1.1.1');
    expect(a).toMatchObject({ state: 'active', approvedAt: clock.now(), expiresAt: clock.now() + WEB.durationMs, version: 2 });
    expect(a.approvals).toEqual([{ by: 'bob', at: clock.now(), contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown, mfa: false }]);
    const events = await all();
    expect(events.map((e) => [e.seq, e.type, e.code, e.actor])).toEqual([
      [1, 'grant.requested', 'GH1000', 'alice'],
      [2, 'grant.approved', 'GH1001', 'bob'],
      [3, 'grant.activated', 'GH1002', 'bob'],
    ]);
    expect(events[1]).toMatchObject({ source: '10.1.1.1', data: { approvals: 1, needed: 1, mfa: false } });
    expect(events[2]?.data).toEqual({ expiresAt: new Date(clock.now() + WEB.durationMs).toISOString(), approvers: ['bob'] });
  });

  it('a 2-approval grant stays pending after one approval and activates on the second distinct person', async () => {
    const { grants, clock, types } = await fresh();
    const g = await grants.request('alice', DB);
    const one = await grants.approve('bob', g.id);
    expect(one).toMatchObject({ state: 'pending', approvedAt: null, expiresAt: null });
    expect(await refusal(grants.approve('bob-2', g.id))).toMatchObject({ code: 'GH_ERR_DUPLICATE_APPROVAL', message: `bob-2 has already approved grant ${g.id}` });
    clock.advance(1_000);
    const two = await grants.approve('carol', g.id);
    expect(two).toMatchObject({ state: 'active', approvedAt: clock.now(), expiresAt: clock.now() + DB.durationMs });
    expect(two.approvals.map((x) => x.by)).toEqual(['bob', 'carol']);
    expect(await types()).toEqual(['grant.requested', 'grant.approved', 'grant.approval_refused', 'grant.approved', 'grant.activated']);
  });

  it('refuses a second approval by the same name', async () => {
    const { grants, all } = await fresh();
    const g = await grants.request('alice', DB);
    await grants.approve('bob', g.id);
    expect(await refusal(grants.approve('bob', g.id))).toMatchObject({ code: 'GH_ERR_DUPLICATE_APPROVAL', message: `bob has already approved grant ${g.id}` });
    expect((await all()).at(-1)).toMatchObject({ type: 'grant.approval_refused', code: 'GH1008', actor: 'bob', data: { error: 'GH_ERR_DUPLICATE_APPROVAL', message: `bob has already approved grant ${g.id}` } });
  });

  it.each([
    ['alice', 'GH_ERR_FORBIDDEN', 'alice needs one of the roles: approver'],
    ['dave', 'GH_ERR_FORBIDDEN', 'dave needs one of the roles: approver'],
    ['alice-ops', 'GH_ERR_SELF_APPROVAL', 'alice-ops cannot approve grant ID: it is their own request'],
    ['alice-api', 'GH_ERR_SELF_APPROVAL', 'alice-api cannot approve grant ID: it is their own request'],
  ])('refuses %s with %s and records grant.approval_refused', async (caller, code, message) => {
    const { grants, all, store } = await fresh();
    const g = await grants.request('alice', WEB);
    const e = await refusal(grants.approve(caller, g.id, {}, 'src'));
    const text = message.replace('ID', g.id);
    expect([e.code, e.message]).toEqual([code, text]);
    const events = await all();
    expect(events.map((x) => x.type)).toEqual(['grant.requested', 'grant.approval_refused']);
    expect(events[1]).toMatchObject({ actor: caller, user: 'alice', grantId: g.id, source: 'src', severity: 'warning', data: { error: code, message: text } });
    expect(await store.getGrant(g.id)).toMatchObject({ state: 'pending', approvals: [], version: 1 });
  });

  it('refuses self-approval by a requester who holds both roles', async () => {
    const { grants } = await fresh();
    const g = await grants.request('ann', { ...WEB, user: 'ann' });
    expect((await refusal(grants.approve('ann', g.id))).code).toBe('GH_ERR_SELF_APPROVAL');
  });

  it('refuses an approval by the admin who requested on the user’s behalf', async () => {
    const { grants } = await fresh();
    const g = await grants.request('lead', WEB);
    expect(g.requestedBy).toBe('lead');
    expect(await refusal(grants.approve('lead', g.id))).toMatchObject({ code: 'GH_ERR_SELF_APPROVAL', message: `lead cannot approve grant ${g.id}: it is their own request` });
    expect((await grants.approve('bob', g.id)).state).toBe('active');
  });

  it.each([
    ['denied', async (x: World, id: string) => void (await x.grants.deny('carol', id, 'no'))],
    ['revoked', async (x: World, id: string) => void (await x.grants.revoke('alice', id, 'no'))],
    [
      'expired',
      async (x: World, id: string) => {
        await x.grants.approve('bob', id);
        x.clock.advance(WEB.durationMs);
        await x.grants.expire(id);
      },
    ],
    [
      'active',
      async (x: World, id: string) => {
        await x.grants.approve('bob', id);
      },
    ],
  ])('a %s grant cannot be approved (it cannot be revived)', async (state, end) => {
    const x = await fresh();
    const g = await x.grants.request('alice', WEB);
    await end(x, g.id);
    const before = await x.store.getGrant(g.id);
    const e = await refusal(x.grants.approve('carol', g.id));
    expect([e.code, e.message]).toEqual(['GH_ERR_GRANT_STATE', `grant ${g.id} is ${state}, not pending`]);
    expect(await x.store.getGrant(g.id)).toEqual(before);
  });

  it('an unknown grant id is GH_ERR_GRANT_NOT_FOUND', async () => {
    const { grants } = await fresh();
    expect(await refusal(grants.approve('bob', 'g-0123456789abcdefghjkm'))).toMatchObject({ code: 'GH_ERR_GRANT_NOT_FOUND', message: 'no grant g-0123456789abcdefghjkm' });
  });

  it('two approvals in parallel on a 2-approval grant: exactly 2 approvals, one activation (version check + retry)', async () => {
    const inner = openSqliteStore(':memory:');
    let conflicts = 0;
    const counting: Store = new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'commit' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (...args: Parameters<Store['commit']>) =>
          inner.commit(...args).catch((err: unknown) => {
            if (err instanceof GatehouseError && err.code === 'GH_ERR_CONFLICT') conflicts++;
            throw err;
          });
      },
    });
    const { grants, all, store } = await fresh(counting);
    const g = await grants.request('alice', DB);
    const [a, b] = await Promise.all([grants.approve('bob', g.id), grants.approve('carol', g.id)]);
    expect(conflicts).toBe(1);
    const final = await store.getGrant(g.id);
    expect(final?.state).toBe('active');
    expect(final?.version).toBe(3);
    expect(final?.approvals.map((x) => x.by).sort()).toEqual(['bob', 'carol']);
    expect([a.state, b.state].sort()).toEqual(['active', 'pending']);
    const events = await all();
    expect(events.map((e) => e.type)).toEqual(['grant.requested', 'grant.approved', 'grant.approved', 'grant.activated']);
    expect(events.map((e) => e.data.approvals ?? null)).toEqual([null, 1, 2, null]);
  });

  it('parallel approvals by two aliases of one person: one counts, the other is refused', async () => {
    const { grants, store } = await fresh();
    const g = await grants.request('alice', DB);
    const results = await Promise.allSettled([grants.approve('bob', g.id), grants.approve('bob-2', g.id)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected?.reason as GatehouseError).code).toBe('GH_ERR_DUPLICATE_APPROVAL');
    expect(await store.getGrant(g.id)).toMatchObject({ state: 'pending', version: 2 });
  });
});

describe('approve with TOTP', () => {
  it('accepts a valid code and marks the approval mfa', async () => {
    const { grants, clock, all } = await fresh();
    const g = await grants.request('alice', WEB);
    const a = await grants.approve('bob', g.id, { totp: totpCode(BOB_TOTP, clock.now()) });
    expect(a.state).toBe('active');
    expect(a.approvals[0]?.mfa).toBe(true);
    expect((await all())[1]?.data).toEqual({ approvals: 1, needed: 1, mfa: true });
  });

  it('accepts the previous and next 30 s step, not two steps away', async () => {
    const { grants, clock } = await fresh();
    const g1 = await grants.request('alice', WEB);
    await grants.approve('bob', g1.id, { totp: totpCode(BOB_TOTP, clock.now(), -1) });
    const g2 = await grants.request('alice', WEB);
    await grants.approve('bob', g2.id, { totp: totpCode(BOB_TOTP, clock.now(), 1) });
    const g3 = await grants.request('alice', WEB);
    expect(await refusal(grants.approve('bob', g3.id, { totp: totpCode(BOB_TOTP, clock.now(), 3) }))).toMatchObject({ code: 'GH_ERR_MFA_INVALID', message: 'the TOTP code is wrong or expired' });
  });

  it('refuses the same code again (replay), also through an alias sharing the secret', async () => {
    const { grants, clock, all } = await fresh();
    const code = totpCode(BOB_TOTP, clock.now());
    const g1 = await grants.request('alice', WEB);
    await grants.approve('bob', g1.id, { totp: code });
    const g2 = await grants.request('alice', WEB);
    clock.advance(5_000);
    const e = await refusal(grants.approve('bob', g2.id, { totp: code }));
    expect([e.code, e.message]).toEqual(['GH_ERR_MFA_INVALID', 'this TOTP code was already used; wait for the next one']);
    expect((await all()).at(-1)).toMatchObject({ type: 'grant.approval_refused', actor: 'bob', grantId: g2.id, data: { error: 'GH_ERR_MFA_INVALID' } });
    // bob-2 is another entry with the same secret: the code is burnt for the secret, not the name.
    expect(await refusal(grants.approve('bob-2', g2.id, { totp: code }))).toMatchObject({ code: 'GH_ERR_MFA_INVALID', message: 'this TOTP code was already used; wait for the next one' });
    expect((await all()).at(-1)).toMatchObject({ type: 'grant.approval_refused', actor: 'bob-2', grantId: g2.id, data: { error: 'GH_ERR_MFA_INVALID' } });
    // And at session start (keyboard-interactive) the alias cannot replay it either.
    expect(await refusal(grants.verifySessionMfa('bob-2', code))).toMatchObject({ code: 'GH_ERR_MFA_INVALID', message: 'this TOTP code was already used; wait for the next one' });
    expect((await grants.get('bob', g2.id)).state).toBe('pending');
    // The next step's code works.
    clock.advance(30_000);
    expect((await grants.approve('bob', g2.id, { totp: totpCode(BOB_TOTP, clock.now()) })).state).toBe('active');
  });

  it('refuses a wrong code, a malformed code and a code from someone without TOTP', async () => {
    const { grants, clock, types } = await fresh();
    const g = await grants.request('alice', WEB);
    const valid = new Set([-1, 0, 1].map((o) => totpCode(BOB_TOTP, clock.now(), o)));
    let wrong = '000000';
    for (let n = 0; valid.has(wrong); n++) wrong = String(n).padStart(6, '0');
    expect(await refusal(grants.approve('bob', g.id, { totp: wrong }))).toMatchObject({ code: 'GH_ERR_MFA_INVALID', message: 'the TOTP code is wrong or expired' });
    expect(await refusal(grants.approve('bob', g.id, { totp: '12345' }))).toMatchObject({ code: 'GH_ERR_MFA_INVALID' });
    expect(await refusal(grants.approve('bob', g.id, { totp: '' }))).toMatchObject({ code: 'GH_ERR_MFA_REQUIRED', message: 'a TOTP code is required: pass --totp CODE' });
    expect(await refusal(grants.approve('lead', g.id, { totp: '123456' }))).toMatchObject({ code: 'GH_ERR_MFA_REQUIRED', message: 'lead has no TOTP enrolled' });
    // Authority is checked before the code: a watcher is refused for the role, whatever the code.
    expect(await refusal(grants.approve('dave', g.id, { totp: '123456' }))).toMatchObject({ code: 'GH_ERR_FORBIDDEN', message: 'dave needs one of the roles: approver' });
    expect(await types()).toEqual(['grant.requested', ...Array<string>(5).fill('grant.approval_refused')]);
    expect((await grants.get('bob', g.id)).approvals).toEqual([]);
  });

  it.each([
    ['the grant is no longer pending', 'GH_ERR_GRANT_STATE', async (x: World) => (await x.grants.approve('carol', (await x.grants.request('alice', WEB)).id)).id],
    ['it is a second approval by an alias', 'GH_ERR_DUPLICATE_APPROVAL', async (x: World) => {
      const g = await x.grants.request('alice', DB);
      await x.grants.approve('bob-2', g.id);
      return g.id;
    }],
    ['the request outlived its requestTtl', 'GH_ERR_GRANT_STATE', async (x: World) => {
      const g = await x.grants.request('alice', WEB);
      x.clock.advance(86_400_000);
      return g.id;
    }],
  ])('a refused approval does not spend the code (%s)', async (_why, code, refusedId) => {
    const x = await fresh();
    const id = await refusedId(x);
    const totp = totpCode(BOB_TOTP, x.clock.now());
    expect((await refusal(x.grants.approve('bob', id, { totp }))).code).toBe(code);
    // The same code still approves a grant bob may approve.
    const g = await x.grants.request('alice', WEB);
    expect(await x.grants.approve('bob', g.id, { totp })).toMatchObject({ state: 'active', approvals: [{ by: 'bob', mfa: true }] });
  });
});
