/**
 * Grant requests and the end of a grant: validation with exact codes, deny, revoke, expire.
 * Approvals, aliases, concurrency and TOTP: grants-approve.test.ts. Session coverage: grants-coverage.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GrantRequest } from '../../src/grants/service.js';
import { DB, refusal, WEB, world, type World } from './grants-fixture.js';

let w: World;
afterEach(async () => w.close());
async function fresh(): Promise<World> {
  w = await world();
  return w;
}

describe('request', () => {
  it('records a pending grant and one grant.requested event', async () => {
    const { grants, clock, all } = await fresh();
    const g = await grants.request('alice', { ...WEB, reason: '  disk full on web-1  ' }, '10.0.0.9');
    expect(g).toMatchObject({ user: 'alice', targets: ['web-1'], incident: 'INC-1', template: 'diagnose', reason: 'disk full on web-1', durationMs: 1_800_000 });
    expect(g).toMatchObject({ state: 'pending', requestedAt: clock.now(), requestedBy: 'alice', approvals: [], approvedAt: null, expiresAt: null, version: 1, breakGlass: false });
    expect(g.id).toMatch(/^g-[0-9a-hjkmnp-tv-z]{21}$/);
    expect(await grants.get('alice', g.id)).toEqual(g);
    const events = await all();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      seq: 1,
      type: 'grant.requested',
      code: 'GH1000',
      actor: 'alice',
      user: 'alice',
      grantId: g.id,
      incident: 'INC-1',
      target: 'web-1',
      source: '10.0.0.9',
      data: { targets: ['web-1'], template: 'diagnose', durationMs: 1_800_000, reason: 'disk full on web-1', breakGlass: false },
    });
  });

  it('picks the first template covering every target, by name glob or label', async () => {
    const { grants } = await fresh();
    expect((await grants.request('alice', { ...WEB, targets: ['web-1', 'web-2', 'web-1'] })).targets).toEqual(['web-1', 'web-2']);
    expect((await grants.request('alice', DB)).template).toBe('dual');
  });

  it('activates at once under a template that needs no approvals', async () => {
    const { grants, clock, types } = await fresh();
    const g = await grants.request('alice', { ...WEB, targets: ['sandbox'], durationMs: 600_000 });
    expect(g).toMatchObject({ state: 'active', template: 'sandbox', approvedAt: clock.now(), expiresAt: clock.now() + 600_000 });
    expect(await types()).toEqual(['grant.requested', 'grant.activated']);
  });

  it('lets an admin request for someone else, recording who asked', async () => {
    const { grants } = await fresh();
    const g = await grants.request('root', WEB);
    expect(g).toMatchObject({ user: 'alice', requestedBy: 'root' });
  });

  const cases: [string, string, Partial<GrantRequest>, string, string][] = [
    ['an incident is required', 'alice', { incident: '' }, 'GH_ERR_BAD_INPUT', 'an incident id is required: letters, digits and _ . : # / - (max 64), e.g. INC-1234'],
    ['the incident id is well formed', 'alice', { incident: 'INC 1; rm -rf' }, 'GH_ERR_BAD_INPUT', 'an incident id is required: letters, digits and _ . : # / - (max 64), e.g. INC-1234'],
    ['a reason is required', 'alice', { reason: '   ' }, 'GH_ERR_BAD_INPUT', 'a reason is required'],
    ['the reason is bounded', 'alice', { reason: 'x'.repeat(1_001) }, 'GH_ERR_BAD_INPUT', 'the reason is longer than 1000 characters'],
    ['the reason holds no control characters', 'alice', { reason: 'ok\x1b[2J' }, 'GH_ERR_BAD_INPUT', 'the reason contains control characters'],
    ['a target is required', 'alice', { targets: [] }, 'GH_ERR_BAD_INPUT', 'at least one target is required'],
    ['the target exists', 'alice', { targets: ['web-1', 'web-9'] }, 'GH_ERR_UNKNOWN_TARGET', 'no target "web-9" in the inventory'],
    ['a named template exists', 'alice', { template: 'nope' }, 'GH_ERR_UNKNOWN_TEMPLATE', 'no template "nope"'],
    ['the named template covers every target', 'alice', { template: 'diagnose', targets: ['web-1', 'db-1'] }, 'GH_ERR_TARGET_SCOPE', 'template diagnose does not cover db-1'],
    ['some template covers the targets', 'alice', { targets: ['web-1', 'db-1'] }, 'GH_ERR_UNKNOWN_TEMPLATE', 'no template covers web-1, db-1; name one with --template'],
    ['the duration is positive', 'alice', { durationMs: 0 }, 'GH_ERR_BAD_DURATION', 'the duration must be positive'],
    ['the duration is a number', 'alice', { durationMs: Number.NaN }, 'GH_ERR_BAD_DURATION', 'the duration must be positive'],
    ['the duration is capped by the template', 'alice', { durationMs: 3_660_000 }, 'GH_ERR_DURATION_CAP', 'template diagnose allows at most 1h, asked for 1h1m'],
    ['the cap is per template', 'alice', { targets: ['db-1'], durationMs: 2 * 3_600_000 }, 'GH_ERR_DURATION_CAP', 'template dual allows at most 30m, asked for 2h'],
    ['break-glass is off', 'alice', { breakGlass: true }, 'GH_ERR_BREAK_GLASS', 'template diagnose does not allow break-glass'],
    ['only the user (or an admin) may ask', 'carol', {}, 'GH_ERR_FORBIDDEN', 'carol may request access only for themselves'],
    ['an alias is not an admin', 'alice-ops', {}, 'GH_ERR_FORBIDDEN', 'alice-ops may request access only for themselves'],
    ['the user exists', 'root', { user: 'ghost' }, 'GH_ERR_UNKNOWN_USER', 'no user ghost'],
    ['the user is a responder', 'bob', { user: 'bob' }, 'GH_ERR_FORBIDDEN', 'bob does not hold the responder role'],
    ['an admin cannot grant access to a non-responder', 'root', { user: 'dave' }, 'GH_ERR_FORBIDDEN', 'dave does not hold the responder role'],
  ];
  it.each(cases)('refuses unless %s', async (_what, caller, change, code, message) => {
    const { grants, store, head } = await fresh();
    const e = await refusal(grants.request(caller, { ...WEB, ...change }));
    expect([e.code, e.message]).toEqual([code, message]);
    expect(await head()).toBe(0);
    expect(await store.listGrants()).toEqual([]);
  });

  it('accepts a duration exactly at the cap', async () => {
    const { grants } = await fresh();
    expect((await grants.request('alice', { ...WEB, durationMs: 3_600_000 })).durationMs).toBe(3_600_000);
  });
});

describe('deny', () => {
  it('an approver denies a pending grant: state, reason, who, one event', async () => {
    const { grants, clock, all } = await fresh();
    const g = await grants.request('alice', WEB);
    clock.advance(60_000);
    const d = await grants.deny('carol', g.id, ' not needed ');
    expect(d).toMatchObject({ state: 'denied', endedAt: clock.now(), endReason: 'not needed', endedBy: 'carol', version: 2, approvedAt: null, expiresAt: null });
    const events = await all();
    expect(events.map((e) => [e.seq, e.type, e.actor])).toEqual([
      [1, 'grant.requested', 'alice'],
      [2, 'grant.denied', 'carol'],
    ]);
    expect(events[1]?.data).toEqual({ reason: 'not needed' });
  });

  it('an admin may deny; a responder or a watcher may not', async () => {
    const { grants } = await fresh();
    const g = await grants.request('alice', WEB);
    expect(await refusal(grants.deny('erin', g.id, 'no'))).toMatchObject({ code: 'GH_ERR_GRANT_NOT_FOUND', message: `no grant ${g.id}` });
    expect(await refusal(grants.deny('dave', g.id, 'no'))).toMatchObject({ code: 'GH_ERR_FORBIDDEN', message: 'dave needs one of the roles: approver, admin' });
    expect((await grants.deny('root', g.id, 'no')).state).toBe('denied');
  });

  it('a requester cannot deny their own grant, under any name', async () => {
    const { grants } = await fresh();
    const g = await grants.request('ann', { ...WEB, user: 'ann' });
    expect(await refusal(grants.deny('ann', g.id, 'changed my mind'))).toMatchObject({ code: 'GH_ERR_SELF_APPROVAL', message: 'ann cannot decide on their own request; revoke it instead' });
    const a = await grants.request('alice', WEB);
    expect((await refusal(grants.deny('alice-ops', a.id, 'x'))).code).toBe('GH_ERR_SELF_APPROVAL');
  });

  it('the admin who requested on a user’s behalf may deny it: that withdraws the request (docs/approvals.md)', async () => {
    const { grants } = await fresh();
    const g = await grants.request('lead', WEB);
    expect(await grants.deny('lead', g.id, 'raised by mistake')).toMatchObject({ state: 'denied', endedBy: 'lead', requestedBy: 'lead', user: 'alice' });
  });

  it('only a pending grant can be denied, and a reason is required', async () => {
    const { grants } = await fresh();
    const g = await grants.request('alice', WEB);
    expect(await refusal(grants.deny('carol', g.id, ''))).toMatchObject({ code: 'GH_ERR_BAD_INPUT', message: 'a reason is required' });
    await grants.approve('bob', g.id);
    expect(await refusal(grants.deny('carol', g.id, 'too late'))).toMatchObject({ code: 'GH_ERR_GRANT_STATE', message: `grant ${g.id} is active, not pending` });
  });
});

describe('revoke', () => {
  it('the owner revokes their own pending or active grant', async () => {
    const { grants, clock, types } = await fresh();
    const p = await grants.request('alice', WEB);
    expect(await grants.revoke('alice', p.id, 'fixed it')).toMatchObject({ state: 'revoked', endReason: 'fixed it', endedBy: 'alice', endedAt: clock.now() });
    const a = await grants.request('alice', WEB);
    await grants.approve('bob', a.id);
    clock.advance(5 * 60_000);
    expect(await grants.revoke('alice', a.id, 'done')).toMatchObject({ state: 'revoked', endedAt: clock.now(), version: 3 });
    expect(await types()).toEqual(['grant.requested', 'grant.revoked', 'grant.requested', 'grant.approved', 'grant.activated', 'grant.revoked']);
  });

  it.each([
    ['carol', 'approver'],
    ['dave', 'watcher'],
    ['root', 'admin'],
  ])('%s (%s) may revoke', async (caller) => {
    const { grants } = await fresh();
    const g = await grants.request('alice', WEB);
    await grants.approve('bob', g.id);
    expect((await grants.revoke(caller, g.id, 'suspicious')).endedBy).toBe(caller);
  });

  it('another responder may neither see nor revoke it', async () => {
    const { grants } = await fresh();
    const g = await grants.request('alice', WEB);
    expect(await refusal(grants.revoke('erin', g.id, 'x'))).toMatchObject({ code: 'GH_ERR_GRANT_NOT_FOUND', message: `no grant ${g.id}` });
    expect(await refusal(grants.get('erin', g.id))).toMatchObject({ code: 'GH_ERR_GRANT_NOT_FOUND' });
  });

  it('refuses ended grants, naming their state (an active grant past its deadline is expired)', async () => {
    const { grants, clock } = await fresh();
    const g = await grants.request('alice', WEB);
    await grants.revoke('alice', g.id, 'x');
    expect(await refusal(grants.revoke('carol', g.id, 'again'))).toMatchObject({ code: 'GH_ERR_GRANT_STATE', message: `grant ${g.id} is already revoked` });
    const d = await grants.request('alice', WEB);
    await grants.deny('carol', d.id, 'no');
    expect((await refusal(grants.revoke('carol', d.id, 'x'))).message).toBe(`grant ${d.id} is already denied`);
    const a = await grants.request('alice', WEB);
    await grants.approve('bob', a.id);
    clock.advance(WEB.durationMs);
    expect((await refusal(grants.revoke('carol', a.id, 'x'))).message).toBe(`grant ${a.id} is already expired`);
  });
});

describe('expire', () => {
  it('does nothing before the deadline, marks the grant expired after it, once', async () => {
    const { grants, clock, types, store } = await fresh();
    const g = await grants.request('alice', WEB);
    const a = await grants.approve('bob', g.id);
    expect(await grants.expire(g.id)).toBeUndefined();
    clock.advance(WEB.durationMs - 1);
    expect(await grants.expire(g.id)).toBeUndefined();
    expect((await store.getGrant(g.id))?.state).toBe('active');
    clock.advance(1);
    const e = await grants.expire(g.id);
    expect(e).toMatchObject({ state: 'expired', endedAt: a.expiresAt, endReason: 'expired', endedBy: null, version: 3 });
    clock.advance(60_000);
    expect(await grants.expire(g.id)).toBeUndefined();
    expect(await types()).toEqual(['grant.requested', 'grant.approved', 'grant.activated', 'grant.expired']);
    const last = (await store.readEvents(3, 10))[0];
    expect(last).toMatchObject({ actor: null, data: { expiresAt: new Date(a.expiresAt ?? 0).toISOString() } });
  });

  it('leaves pending (within requestTtl), denied and revoked grants alone', async () => {
    const { grants, clock, head } = await fresh();
    const p = await grants.request('alice', WEB);
    const r = await grants.request('alice', WEB);
    const d = await grants.request('alice', WEB);
    await grants.revoke('alice', r.id, 'x');
    await grants.deny('carol', d.id, 'no');
    clock.advance(10 * 3_600_000);
    const before = await head();
    expect(await grants.expire(p.id)).toBeUndefined();
    expect(await grants.expire(r.id)).toBeUndefined();
    expect(await grants.expire(d.id)).toBeUndefined();
    expect(await head()).toBe(before);
    // Past the 24 h requestTtl the denied and revoked ones still stay as they are.
    clock.advance(24 * 3_600_000);
    expect(await grants.expire(r.id)).toBeUndefined();
    expect(await grants.expire(d.id)).toBeUndefined();
    expect((await grants.get('alice', d.id)).state).toBe('denied');
  });

  it('a pending request expires at requestedAt + requestTtl, and cannot be approved or changed after', async () => {
    const { grants, clock, all } = await fresh();
    const p = await grants.request('alice', WEB);
    clock.advance(86_400_000 - 1);
    expect(await grants.expire(p.id)).toBeUndefined();
    clock.advance(1);
    expect(await grants.expire(p.id)).toMatchObject({ state: 'expired', endedAt: p.requestedAt + 86_400_000, endReason: 'request expired before approval', endedBy: null, approvedAt: null });
    expect((await all()).at(-1)).toMatchObject({ type: 'grant.expired', actor: null, data: { expiresAt: new Date(p.requestedAt + 86_400_000).toISOString() } });
    expect(await refusal(grants.approve('bob', p.id))).toMatchObject({ code: 'GH_ERR_GRANT_STATE', message: `grant ${p.id} is expired, not pending` });
    expect(await refusal(grants.update('alice', p.id, { durationMs: 600_000 }))).toMatchObject({ code: 'GH_ERR_GRANT_STATE', message: `grant ${p.id} is expired; only a pending request can change` });
  });

  it('a late approval of a request past requestTtl expires it (no timer needed) and is refused', async () => {
    const { grants, clock, types } = await fresh();
    const p = await grants.request('alice', WEB);
    clock.advance(86_400_000);
    expect(await refusal(grants.approve('bob', p.id))).toMatchObject({ code: 'GH_ERR_GRANT_STATE', message: `grant ${p.id} expired before approval (requests live 1d)` });
    expect(await grants.get('alice', p.id)).toMatchObject({ state: 'expired', approvals: [], endReason: 'request expired before approval' });
    expect(await types()).toEqual(['grant.requested', 'grant.expired']);
  });

  it('a grant that does not exist is an error, not a silent no-op', async () => {
    const { grants } = await fresh();
    expect((await refusal(grants.expire('g-0123456789abcdefghjkm'))).code).toBe('GH_ERR_GRANT_NOT_FOUND');
  });
});
