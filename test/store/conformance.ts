/**
 * One conformance suite for every store adapter (Teleport lib/backend/test/suite.go): what the
 * services rely on, asserted on exact rows, sequence numbers and hashes.
 *
 * `open()` returns a new store instance on the current test's database (a second call in the same
 * test is a second broker on the same database); `cleanup()` runs after each test, once the suite
 * has closed the stores, and discards that database so the next test starts empty.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../src/domain/errors.js';
import { GENESIS, seal } from '../../src/events/chain.js';
import { ChainVerifier, type AuditBreak } from '../../src/events/verify.js';
import type { AuditEvent } from '../../src/events/types.js';
import type { Sealer, Store } from '../../src/store/ports.js';
import { command, event, grant, recording, session, T0 } from './builders.js';

const MIN = 60_000;

/** The first broken link from genesis, as `audit verify` finds it (null: the chain holds). */
function chainBreak(events: readonly AuditEvent[]): AuditBreak | null {
  const v = new ChainVerifier({ trustedKeys: [] });
  for (const e of events) v.push(e);
  return v.finish().break;
}

async function rejection(p: Promise<unknown>): Promise<GatehouseError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  return err as GatehouseError;
}

export function runStoreConformance(name: string, open: () => Promise<Store>, cleanup: () => Promise<void>): void {
  describe(`store conformance: ${name}`, () => {
    const opened: Store[] = [];
    async function store(): Promise<Store> {
      const s = await open();
      opened.push(s);
      await s.migrate();
      return s;
    }
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await cleanup();
    });

    it('migrate is idempotent and keeps the data', async () => {
      const s = await store();
      const g = grant();
      await s.commit({ grants: [{ grant: g, expectVersion: null }], events: [event()] }, seal);
      await s.migrate();
      await s.migrate();
      expect(await s.getGrant(g.id)).toEqual(g);
      expect((await s.eventHead()).seq).toBe(1);
      await s.ping();
    });

    it('starts empty', async () => {
      const s = await store();
      expect(await s.eventHead()).toEqual(GENESIS);
      expect(await s.readEvents(0, 10)).toEqual([]);
      expect(await s.getGrant('g-none')).toBeUndefined();
      expect(await s.getSession('s-none')).toBeUndefined();
      expect(await s.getRecording('s-none')).toBeUndefined();
      expect(await s.listCommands('s-none')).toEqual([]);
      expect(await s.listGrants()).toEqual([]);
    });

    it('commits grants, sessions, recordings, commands and events as one unit, and reads them back exactly', async () => {
      const s = await store();
      const g = grant({ approvals: [{ by: 'bob', at: T0 + 1, contentHash: 'ab'.repeat(32), mfa: true }], state: 'active', approvedAt: T0 + 1, expiresAt: T0 + 30 * MIN, reviewRequired: true, breakGlass: true });
      const ss = session({ grantId: g.id, kind: 'exec', command: 'uptime', recording: '2026/01/01/x.cast' });
      const r = recording({ sessionId: ss.id, grantId: g.id });
      const c = [command(ss.id, { offset: 0.5, at: T0 + 500, command: 'uptime' }), command(ss.id, { offset: 2, at: T0 + 2_000, command: 'rm -rf /', decision: 'deny' })];
      const sealed = await s.commit({ grants: [{ grant: g, expectVersion: null }], sessions: [ss], recordings: [r], commands: c, events: [event({ grantId: g.id }), event({ sessionId: ss.id, type: 'session.killed', data: { reason: 'x' } })] }, seal);
      expect(sealed.map((e) => e.seq)).toEqual([1, 2]);
      expect(await s.getGrant(g.id)).toEqual(g);
      expect(await s.getSession(ss.id)).toEqual(ss);
      expect(await s.getRecording(ss.id)).toEqual(r);
      expect(await s.listCommands(ss.id)).toEqual(c);
      expect(await s.readEvents(0, 10)).toEqual(sealed);
    });

    it('updates a grant only from the version it read; a conflict rolls back the whole unit, events included', async () => {
      const s = await store();
      const g = grant();
      await s.commit({ grants: [{ grant: g, expectVersion: null }], events: [event()] }, seal);
      const v2 = { ...g, state: 'active' as const, version: 2 };
      await s.commit({ grants: [{ grant: v2, expectVersion: 1 }], events: [event()] }, seal);
      const head = await s.eventHead();
      const ss = session();
      const e = await rejection(
        s.commit({ grants: [{ grant: { ...g, state: 'denied', version: 2 }, expectVersion: 1 }], sessions: [ss], recordings: [recording({ sessionId: ss.id })], commands: [command(ss.id)], events: [event(), event()] }, seal),
      );
      expect(e.code).toBe('GH_ERR_CONFLICT');
      expect(await s.getGrant(g.id)).toEqual(v2);
      expect(await s.getSession(ss.id)).toBeUndefined();
      expect(await s.getRecording(ss.id)).toBeUndefined();
      expect(await s.listCommands(ss.id)).toEqual([]);
      expect(await s.eventHead()).toEqual(head);
      // The next unit continues the chain with no gap.
      const next = await s.commit({ events: [event()] }, seal);
      expect(next[0]).toMatchObject({ seq: 3, prevHash: head.hash });
    });

    it('rolls back a unit whose event sealing fails, and a duplicate grant insert', async () => {
      const s = await store();
      const g = grant();
      let calls = 0;
      const failing: Sealer = (prev, e) => {
        if (++calls === 2) throw new Error('sealer broke');
        return seal(prev, e);
      };
      expect((await rejection(s.commit({ grants: [{ grant: g, expectVersion: null }], events: [event(), event()] }, failing))).code).toBe('GH_ERR_STORE');
      expect(await s.getGrant(g.id)).toBeUndefined();
      expect(await s.eventHead()).toEqual(GENESIS);
      await s.commit({ grants: [{ grant: g, expectVersion: null }], events: [event()] }, seal);
      await rejection(s.commit({ grants: [{ grant: { ...g, reason: 'dup' }, expectVersion: null }], events: [event()] }, seal));
      expect((await s.getGrant(g.id))?.reason).toBe(g.reason);
      expect((await s.eventHead()).seq).toBe(1);
    });

    it('numbers events gap-free and chains them: prevHash is the previous hash', async () => {
      const s = await store();
      const returned: AuditEvent[] = [];
      for (const k of [1, 3, 0, 2]) returned.push(...(await s.commit({ events: Array.from({ length: k }, () => event()) }, seal)));
      const all = await s.readEvents(0, 100);
      expect(all).toEqual(returned);
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(all[0]?.prevHash).toBe(GENESIS.hash);
      all.slice(1).forEach((e, i) => expect(e.prevHash).toBe(all[i]?.hash));
      expect(chainBreak(all)).toBeNull();
      expect(await s.eventHead()).toEqual({ seq: 6, hash: all[5]?.hash });
    });

    it('a unit without events leaves the head alone', async () => {
      const s = await store();
      await s.commit({ events: [event()] }, seal);
      const head = await s.eventHead();
      expect(await s.commit({ grants: [{ grant: grant(), expectVersion: null }], events: [] }, seal)).toEqual([]);
      expect(await s.eventHead()).toEqual(head);
    });

    it('readEvents pages by sequence number and filters by type, incident, session and grant', async () => {
      const s = await store();
      const drafts = (): ReturnType<typeof event>[] => [
        event({ incident: 'INC-1', grantId: 'g-a' }),
        event({ incident: 'INC-2', sessionId: 's-a', type: 'session.killed', data: { reason: 'k' } }),
        event({ incident: 'INC-1', sessionId: 's-a', grantId: 'g-a', type: 'session.killed', data: { reason: 'k' } }),
        event({ incident: null }),
        event({ incident: 'INC-1', grantId: 'g-b' }),
      ];
      for (let i = 0; i < 2; i++) await s.commit({ events: drafts() }, seal); // seqs 1-5 and 6-10
      const seqs = async (after: number, limit: number, f?: Parameters<Store['readEvents']>[2]): Promise<number[]> => (await s.readEvents(after, limit, f)).map((e) => e.seq);
      expect(await seqs(0, 3)).toEqual([1, 2, 3]);
      expect(await seqs(3, 3)).toEqual([4, 5, 6]);
      expect(await seqs(9, 5)).toEqual([10]);
      expect(await seqs(10, 5)).toEqual([]);
      expect(await seqs(0, 0)).toEqual([]);
      expect(await seqs(0, 100, { types: ['session.killed'] })).toEqual([2, 3, 7, 8]);
      expect(await seqs(0, 100, { types: ['session.killed', 'grant.denied'] })).toHaveLength(10);
      expect(await seqs(0, 100, { incident: 'INC-1' })).toEqual([1, 3, 5, 6, 8, 10]);
      expect(await seqs(0, 100, { sessionId: 's-a' })).toEqual([2, 3, 7, 8]);
      expect(await seqs(0, 100, { grantId: 'g-a' })).toEqual([1, 3, 6, 8]);
      expect(await seqs(0, 100, { incident: 'INC-1', types: ['session.killed'], grantId: 'g-a' })).toEqual([3, 8]);
      expect(await seqs(3, 2, { incident: 'INC-1' })).toEqual([5, 6]);
      expect(await seqs(0, 100, { incident: 'INC-404' })).toEqual([]);
      expect(await seqs(0, 100, {})).toHaveLength(10);
    });

    it('lists grants by state, incident and user, newest first, with a limit', async () => {
      const s = await store();
      const a = grant({ requestedAt: T0, state: 'active' });
      const b = grant({ requestedAt: T0 + 2, incident: 'INC-2', user: 'erin' });
      const c = grant({ requestedAt: T0 + 1, state: 'revoked' });
      await s.commit({ grants: [a, b, c].map((g) => ({ grant: g, expectVersion: null })), events: [] }, seal);
      const ids = async (f?: Parameters<Store['listGrants']>[0]): Promise<string[]> => (await s.listGrants(f)).map((g) => g.id);
      expect(await ids()).toEqual([b.id, c.id, a.id]);
      expect(await ids({ states: ['active', 'revoked'] })).toEqual([c.id, a.id]);
      expect(await ids({ states: [] })).toEqual([b.id, c.id, a.id]);
      expect(await ids({ incident: 'INC-1' })).toEqual([c.id, a.id]);
      expect(await ids({ user: 'erin' })).toEqual([b.id]);
      expect(await ids({ user: 'erin', incident: 'INC-1' })).toEqual([]);
      expect(await ids({ limit: 2 })).toEqual([b.id, c.id]);
    });

    it('lists sessions by liveness, grant, incident, user, target and broker; upserts replace', async () => {
      const s = await store();
      const a = session({ startedAt: T0, grantId: 'g-1' });
      const b = session({ startedAt: T0 + 1, grantId: 'g-2', incident: 'INC-2', user: 'erin', target: 'db-1', broker: 'b2' });
      await s.commit({ sessions: [a, b], events: [] }, seal);
      const ended = { ...a, state: 'ended' as const, endedAt: T0 + MIN, endReason: 'killed' as const, exitCode: 137 };
      await s.commit({ sessions: [ended], events: [] }, seal);
      expect(await s.getSession(a.id)).toEqual(ended);
      const ids = async (f?: Parameters<Store['listSessions']>[0]): Promise<string[]> => (await s.listSessions(f)).map((x) => x.id);
      expect(await ids()).toEqual([b.id, a.id]);
      expect(await ids({ live: true })).toEqual([b.id]);
      expect(await ids({ live: false })).toEqual([a.id]);
      expect(await ids({ grantId: 'g-1' })).toEqual([a.id]);
      expect(await ids({ incident: 'INC-2' })).toEqual([b.id]);
      expect(await ids({ user: 'erin', target: 'db-1', broker: 'b2' })).toEqual([b.id]);
      expect(await ids({ broker: 'b3' })).toEqual([]);
      expect(await ids({ limit: 1 })).toEqual([b.id]);
    });

    it('lists recordings by user, target, incident, time and command text (case-insensitive, literal)', async () => {
      const s = await store();
      const ra = recording({ startedAt: T0, user: 'alice' });
      const rb = recording({ startedAt: T0 + MIN, user: 'erin', target: 'db-1', incident: 'INC-2' });
      const rc = recording({ startedAt: T0 + 2 * MIN });
      const [a, b, c] = [ra.sessionId, rb.sessionId, rc.sessionId];
      await s.commit({ recordings: [ra, rb, rc], commands: [command(a, { command: 'SYSTEMCTL Restart nginx' }), command(b, { command: 'cat /var/log/50%_done' }), command(c, { command: 'ls' })], events: [] }, seal);
      const closed = { ...ra, state: 'closed' as const, endedAt: T0 + 5 * MIN, bytes: 1234, sha256: 'cd'.repeat(32) };
      await s.commit({ recordings: [closed], events: [] }, seal);
      expect(await s.getRecording(a)).toEqual(closed);
      const ids = async (f?: Parameters<Store['listRecordings']>[0]): Promise<string[]> => (await s.listRecordings(f)).map((x) => x.sessionId);
      expect(await ids()).toEqual([c, b, a]);
      expect(await ids({ user: 'erin' })).toEqual([b]);
      expect(await ids({ target: 'web-1', incident: 'INC-1' })).toEqual([c, a]);
      expect(await ids({ since: T0 + MIN })).toEqual([c, b]);
      expect(await ids({ until: T0 + MIN })).toEqual([a]);
      expect(await ids({ since: T0, until: T0 + 2 * MIN })).toEqual([b, a]);
      expect(await ids({ commandText: 'systemctl restart' })).toEqual([a]);
      expect(await ids({ commandText: 'NGINX' })).toEqual([a]);
      expect(await ids({ commandText: '%_' })).toEqual([b]);
      expect(await ids({ commandText: '_' })).toEqual([b]);
      expect(await ids({ commandText: 'nothing like it' })).toEqual([]);
      expect(await ids({ limit: 2 })).toEqual([c, b]);
    });

    it('summarizes commands for many sessions at once: counts, and matches in order (case-insensitive, literal)', async () => {
      const s = await store();
      const [a, b, c] = [recording({ startedAt: T0 }), recording({ startedAt: T0 + MIN }), recording({ startedAt: T0 + 2 * MIN })].map((r) => r.sessionId) as [string, string, string];
      const rows = [
        command(a, { at: T0 + 1_000, offset: 1, command: 'SYSTEMCTL status nginx' }),
        command(a, { at: T0 + 2_000, offset: 2, command: 'ls' }),
        command(a, { at: T0 + 3_000, offset: 3, command: 'systemctl restart nginx', decision: 'review' }),
        command(b, { command: 'cat /var/log/50%_done' }),
        command(c, { command: 'uptime' }),
      ];
      await s.commit({ commands: rows, events: [] }, seal);
      const none = await s.summarizeCommands([a, b, 's-none']);
      expect([...none.entries()].sort()).toEqual([
        [a, { count: 3, matches: [] }],
        [b, { count: 1, matches: [] }],
      ]);
      const found = await s.summarizeCommands([a, b, c], 'systemctl');
      expect(found.get(a)).toEqual({ count: 3, matches: [rows[0], rows[2]] });
      expect(found.get(b)).toEqual({ count: 1, matches: [] });
      expect(found.get(c)).toEqual({ count: 1, matches: [] });
      expect((await s.summarizeCommands([a, b, c], '%_')).get(b)?.matches).toEqual([rows[3]]);
      expect((await s.summarizeCommands([a, c], '_')).get(a)?.matches).toEqual([]);
      expect((await s.summarizeCommands([], 'ls')).size).toBe(0);
    });

    it('keeps sink cursors, 0 when new', async () => {
      const s = await store();
      expect(await s.getCursor('siem')).toBe(0);
      await s.setCursor('siem', 5);
      await s.setCursor('file', 2);
      await s.setCursor('siem', 7);
      expect(await s.getCursor('siem')).toBe(7);
      expect(await s.getCursor('file')).toBe(2);
    });

    it('useOnce answers true once per scope and key', async () => {
      const s = await store();
      expect(await s.useOnce('totp:bob', '5900000', T0)).toBe(true);
      expect(await s.useOnce('totp:bob', '5900000', T0 + 1)).toBe(false);
      expect(await s.useOnce('totp:bob', '5900001', T0)).toBe(true);
      expect(await s.useOnce('totp:carol', '5900000', T0)).toBe(true);
    });

    it('round-trips unicode, NUL and control characters exactly, so hashes verify after a read-back', async () => {
      const s = await store();
      const data = {
        text: 'nul \u0000 esc \u001b[31m bell \u0007 del \u007f tab \t cr \r',
        emoji: '😀 👩‍👩‍👧',
        rtl: 'مرحبا',
        separators: '\u2028\u2029',
        lone: '\ufffd x \ufffd', // lone surrogates become U+FFFD before sealing (EventLog), as RFC 8785 requires
        ключ: ['ü', 1.5, 1e21, 5e-324, true, null, { '': 0 }],
        big: Number.MAX_SAFE_INTEGER,
      };
      const sealed = await s.commit({ events: [event({ type: 'anomaly.detected', actor: 'zoë', target: 'web-1 ✓', source: '[::1]:22', data: { detector: 'd', action: 'alert', evidence: data } })] }, seal);
      const ss = session({ command: 'grep -r "x\tY" \u001b[0m — ✓' });
      await s.commit({ sessions: [ss], commands: [command(ss.id, { command: ss.command ?? '' })], events: [] }, seal);
      const back = await s.readEvents(0, 10);
      expect(back).toEqual(sealed);
      expect(back[0]?.data).toEqual({ detector: 'd', action: 'alert', evidence: data });
      expect(chainBreak(back)).toBeNull();
      expect((await s.getSession(ss.id))?.command).toBe(ss.command);
      expect((await s.listCommands(ss.id))[0]?.command).toBe(ss.command);
    });

    it('two instances on one database never fork the chain: interleaved and concurrent commits', async () => {
      const a = await store();
      const b = await store();
      await a.commit({ events: [event()] }, seal);
      await b.commit({ events: [event()] }, seal);
      await a.commit({ events: [event()] }, seal);
      const units = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).commit({ events: [event(), event()] }, seal)));
      for (const u of units) expect((u[1]?.seq ?? 0) - (u[0]?.seq ?? 0)).toBe(1);
      const all = await b.readEvents(0, 1_000);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
      expect(chainBreak(all)).toBeNull();
      expect(await a.eventHead()).toEqual(await b.eventHead());
      expect((await a.eventHead()).seq).toBe(51);
    });

    it('two instances updating one grant from the same version: exactly one wins', async () => {
      const a = await store();
      const b = await store();
      const g = grant();
      await a.commit({ grants: [{ grant: g, expectVersion: null }], events: [] }, seal);
      const read = (await b.getGrant(g.id)) as typeof g;
      const results = await Promise.allSettled([
        a.commit({ grants: [{ grant: { ...read, state: 'active', version: 2 }, expectVersion: 1 }], events: [event()] }, seal),
        b.commit({ grants: [{ grant: { ...read, state: 'denied', version: 2 }, expectVersion: 1 }], events: [event()] }, seal),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = results.find((r) => r.status === 'rejected');
      expect((lost?.reason as GatehouseError).code).toBe('GH_ERR_CONFLICT');
      expect((await a.getGrant(g.id))?.version).toBe(2);
      expect((await b.eventHead()).seq).toBe(1);
    });
  });
}
