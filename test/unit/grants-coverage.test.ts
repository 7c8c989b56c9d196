/**
 * Which grant lets a user onto a target (findCoveringGrant), and the one-line refusal when none does;
 * plus the pure helpers it relies on.
 */
import { describe, expect, it } from 'vitest';
import type { Grant } from '../../src/domain/types.js';
import { effectiveState, findCoveringGrant, grantContentHash, isLive, validApprovals } from '../../src/grants/rules.js';
import { grantRecord as grant, refusal, WEB, world } from './grants-fixture.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;
const ID = (n: number): string => `g-00000000000000000000${n}`;

const active = (n: number, over: Partial<Grant> = {}): Grant =>
  grant({ id: ID(n), state: 'active', requestedAt: NOW - 10 * MIN, approvedAt: NOW - 5 * MIN, expiresAt: NOW + 25 * MIN, ...over });

describe('findCoveringGrant', () => {
  it('returns the live grant for the user and target', () => {
    const g = active(1);
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toEqual({ ok: true, grant: g });
  });

  it('prefers the live grant that lasts longest, whatever else exists', () => {
    const short = active(1, { expiresAt: NOW + MIN });
    const long = active(2, { expiresAt: NOW + 50 * MIN });
    const pending = grant({ id: ID(3), requestedAt: NOW });
    expect(findCoveringGrant([short, pending, long], 'alice', 'web-1', NOW)).toEqual({ ok: true, grant: long });
  });

  it('refuses with no grant at all', () => {
    expect(findCoveringGrant([], 'alice', 'web-1', NOW)).toEqual({ ok: false, message: 'no grant for alice on web-1: request one with "gatehouse grant request"', grantId: null });
  });

  it('ignores other users’ grants', () => {
    expect(findCoveringGrant([active(1, { user: 'erin' })], 'alice', 'web-1', NOW)).toMatchObject({ ok: false, grantId: null });
  });

  it('refuses a pending grant, counting only approvals bound to its content', () => {
    const base = grant({ id: ID(1), targets: ['db-1'], template: 'dual' });
    const approvals = [
      { by: 'bob', at: NOW, contentHash: grantContentHash(base), mfa: false },
      { by: 'carol', at: NOW, contentHash: grantContentHash({ ...base, durationMs: base.durationMs * 2 }), mfa: false },
    ];
    const g = { ...base, approvals };
    expect(validApprovals(g).map((a) => a.by)).toEqual(['bob']);
    expect(findCoveringGrant([g], 'alice', 'db-1', NOW)).toEqual({ ok: false, message: `grant ${ID(1)} for db-1 is pending approval (1 approval(s) so far)`, grantId: ID(1) });
  });

  it('refuses an active grant past its deadline as expired, saying how long ago', () => {
    const g = active(1, { expiresAt: NOW - 5 * MIN });
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toEqual({ ok: false, message: `grant ${ID(1)} for web-1 expired 5m ago`, grantId: ID(1) });
    expect(findCoveringGrant([active(2, { expiresAt: NOW })], 'alice', 'web-1', NOW)).toMatchObject({ ok: false, message: `grant ${ID(2)} for web-1 expired 0s ago` });
  });

  it('refuses an expired grant', () => {
    const g = active(1, { state: 'expired', expiresAt: NOW - 90 * MIN, endedAt: NOW - 90 * MIN });
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toMatchObject({ ok: false, message: `grant ${ID(1)} for web-1 expired 1h30m ago` });
  });

  it('refuses a revoked grant with who and why', () => {
    const g = active(1, { state: 'revoked', endedAt: NOW - MIN, endedBy: 'carol', endReason: 'suspicious activity' });
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toEqual({ ok: false, message: `grant ${ID(1)} for web-1 was revoked by carol: suspicious activity`, grantId: ID(1) });
  });

  it('refuses a denied grant with who and why', () => {
    const g = grant({ id: ID(1), state: 'denied', endedBy: 'bob', endReason: 'use the runbook' });
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toEqual({ ok: false, message: `grant ${ID(1)} for web-1 was denied by bob: use the runbook`, grantId: ID(1) });
    expect(findCoveringGrant([{ ...g, endedBy: null, endReason: null }], 'alice', 'web-1', NOW)).toMatchObject({ message: `grant ${ID(1)} for web-1 was denied: no reason given` });
  });

  it('names the newest grant for the target when several ended', () => {
    const old = active(1, { state: 'revoked', requestedAt: NOW - 60 * MIN, endedBy: 'carol', endReason: 'old' });
    const newer = grant({ id: ID(2), state: 'denied', requestedAt: NOW - 30 * MIN, endedBy: 'bob', endReason: 'new' });
    expect(findCoveringGrant([old, newer], 'alice', 'web-1', NOW)).toMatchObject({ grantId: ID(2), message: `grant ${ID(2)} for web-1 was denied by bob: new` });
  });

  it('says "wrong target" when a live grant covers other targets', () => {
    const g = active(1, { targets: ['web-2', 'db-1'] });
    expect(findCoveringGrant([g], 'alice', 'web-1', NOW)).toEqual({ ok: false, message: `wrong target: grant ${ID(1)} covers web-2, db-1, not web-1`, grantId: ID(1) });
  });

  it('with a named grant id: only that grant counts', () => {
    const named = active(1, { targets: ['web-2'] });
    const other = active(2);
    expect(findCoveringGrant([named, other], 'alice', 'web-1', NOW, ID(2))).toEqual({ ok: true, grant: other });
    expect(findCoveringGrant([named, other], 'alice', 'web-1', NOW, ID(1))).toEqual({ ok: false, message: `wrong target: grant ${ID(1)} covers web-2, not web-1`, grantId: ID(1) });
    expect(findCoveringGrant([named, other], 'alice', 'web-1', NOW, ID(9))).toEqual({ ok: false, message: `no grant ${ID(9)} for alice`, grantId: null });
    expect(findCoveringGrant([active(3, { user: 'erin' })], 'alice', 'web-1', NOW, ID(3))).toEqual({ ok: false, message: `no grant ${ID(3)} for alice`, grantId: null });
  });
});

describe('grant state helpers', () => {
  it('isLive and effectiveState turn at the deadline, not before', () => {
    const g = active(1, { expiresAt: NOW });
    expect(isLive(g, NOW - 1)).toBe(true);
    expect(effectiveState(g, NOW - 1)).toBe('active');
    expect(isLive(g, NOW)).toBe(false);
    expect(effectiveState(g, NOW)).toBe('expired');
    expect(isLive(active(2, { expiresAt: null }), NOW)).toBe(false);
    expect(effectiveState(grant({ id: ID(3), state: 'revoked' }), NOW)).toBe('revoked');
  });

  it('grantContentHash binds id, user, targets (any order), incident, template, duration, reason, break-glass', () => {
    const g = grant({ id: ID(1), targets: ['a', 'b'] });
    const h = grantContentHash(g);
    expect(grantContentHash({ ...g, targets: ['b', 'a'] })).toBe(h);
    for (const change of [{ id: ID(2) }, { user: 'x' }, { targets: ['a'] }, { incident: 'I' }, { template: 't' }, { durationMs: 1 }, { reason: 'x' }, { breakGlass: true }]) {
      expect(grantContentHash({ ...g, ...change }), JSON.stringify(change)).not.toBe(h);
    }
    const stateOnly: Grant = { ...g, state: 'active', version: 9, approvals: [{ by: 'bob', at: 1, contentHash: h, mfa: false }] };
    expect(grantContentHash(stateOnly)).toBe(h);
  });
});

describe('GrantService.resolveForSession', () => {
  it('follows the lifecycle: no grant, pending, live, expired', async () => {
    const w = await world();
    try {
      const { grants, clock } = w;
      expect(await grants.resolveForSession('alice', 'web-1')).toMatchObject({ ok: false, message: 'no grant for alice on web-1: request one with "gatehouse grant request"' });
      const g = await grants.request('alice', WEB);
      expect(await grants.resolveForSession('alice', 'web-1')).toMatchObject({ ok: false, message: `grant ${g.id} for web-1 is pending approval (0 approval(s) so far)` });
      await grants.approve('bob', g.id);
      expect(await grants.resolveForSession('alice', 'web-1')).toMatchObject({ ok: true, grant: { id: g.id } });
      expect(await grants.resolveForSession('alice', 'web-1', g.id)).toMatchObject({ ok: true });
      expect(await grants.resolveForSession('alice', 'web-2')).toMatchObject({ ok: false, message: `wrong target: grant ${g.id} covers web-1, not web-2` });
      clock.advance(WEB.durationMs + 2 * MIN);
      expect(await grants.resolveForSession('alice', 'web-1')).toMatchObject({ ok: false, message: `grant ${g.id} for web-1 expired 2m ago` });
      expect((await refusal(grants.get('erin', g.id))).code).toBe('GH_ERR_GRANT_NOT_FOUND');
    } finally {
      await w.close();
    }
  });
});
