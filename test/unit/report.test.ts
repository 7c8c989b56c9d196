/**
 * Reports from a store filled the way the broker fills it (GrantService for grants, committed
 * session/command/recording rows with their events) on a ManualClock: the post-incident review of
 * one incident, the summary across incidents (percentiles, violation rate, break-glass), and the
 * human form.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIncident, formatSummary, span, table, when } from '../../src/cli/commands/report.js';
import { ManualClock } from '../../src/domain/clock.js';
import type { Session, Template } from '../../src/domain/types.js';
import { EventLog } from '../../src/events/log.js';
import type { EventContext, EventDraft } from '../../src/events/types.js';
import { Directory } from '../../src/grants/directory.js';
import { buildIncidentReport, loadIncidentReport } from '../../src/grants/report.js';
import { GrantService } from '../../src/grants/service.js';
import { loadSummaryReport, percentiles } from '../../src/monitor/report.js';
import type { Store } from '../../src/store/ports.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { grantRecord, TARGETS, TEMPLATES, USERS } from './grants-fixture.js';

const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
const MIN = 60_000;
const open: { store: Store; events: EventLog }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.events.settled();
    o.events.close();
    await o.store.close();
  }
});

const BREAK_GLASS: Template = { ...(TEMPLATES[0] as Template), name: 'emergency', breakGlass: { allowed: true, maxDurationMs: 900_000, users: null, targets: null } };

async function setup(): Promise<{ clock: ManualClock; store: Store; events: EventLog; grants: GrantService }> {
  const clock = new ManualClock(T0);
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const log = pino({ level: 'silent' });
  const events = new EventLog(store, 'b1', clock, log);
  open.push({ store, events });
  const grants = new GrantService({ store, events, directory: new Directory(USERS), targets: TARGETS, templates: [...TEMPLATES, BREAK_GLASS], clock, log });
  return { clock, store, events, grants };
}

function session(id: string, grantId: string, incident: string, startedAt: number, over: Partial<Session> = {}): Session {
  return { id, grantId, user: 'alice', target: 'web-1', incident, kind: 'shell', command: null, state: 'live', startedAt, endedAt: null, endReason: null, exitCode: null, source: '10.0.0.5:50000', broker: 'b1', recording: `2026/01/01/${id}.cast`, ...over };
}

/** The story of INC-1 and INC-2, with known times. */
async function story(): Promise<{ clock: ManualClock; store: Store; events: EventLog; grants: GrantService; g1: string; g2: string; g3: string }> {
  const w = await setup();
  const { clock, events, grants } = w;
  // INC-1: alice asks at 09:00, bob approves at 09:02.
  const g1 = (await grants.request('alice', { user: 'alice', targets: ['web-1'], incident: 'INC-1', durationMs: 30 * MIN, reason: 'disk full on web-1' })).id;
  clock.advance(2 * MIN);
  await grants.approve('bob', g1);
  const ctx = (sessionId: string): EventContext => ({ actor: 'alice', user: 'alice', target: 'web-1', grantId: g1, incident: 'INC-1', sessionId, source: '10.0.0.5:50000' });
  const s1 = session('s-1', g1, 'INC-1', clock.now());
  await events.commit({ sessions: [s1], recordings: [{ sessionId: 's-1', path: '2026/01/01/s-1.cast', grantId: g1, user: 'alice', target: 'web-1', incident: 'INC-1', startedAt: s1.startedAt, endedAt: null, state: 'live', bytes: null, sha256: null }], events: [{ type: 'session.start', ctx: ctx('s-1'), data: { kind: 'shell', command: null, recording: '2026/01/01/s-1.cast', term: 'xterm' } }] });
  const judged = async (command: string, decision: 'allow' | 'deny', offset: number): Promise<void> => {
    clock.advance(10_000);
    const type = decision === 'allow' ? 'command.allowed' : 'command.denied';
    const reasons = [{ command, rule: decision === 'allow' ? 'ls *' : null, why: decision === 'allow' ? 'matches allow rule "ls *"' : 'no rule allows it' }];
    await events.commit({ commands: [{ sessionId: 's-1', offset, at: clock.now(), command, decision }], events: [{ type, ctx: ctx('s-1'), data: { command, reasons, mode: 'interactive' } } as EventDraft] });
  };
  await judged('ls -la /var/log', 'allow', 10);
  await judged('df -h', 'allow', 20);
  await judged('rm -rf /var/log/old', 'deny', 30);
  // A denied exec never opens a session: only its event exists.
  await events.emit({ type: 'command.denied', ctx: ctx('s-x'), data: { command: 'shutdown -h now', reasons: [{ command: 'shutdown -h now', rule: 'shutdown *', why: 'matches deny rule "shutdown *"' }], mode: 'exec' } });
  clock.advance(MIN);
  // An anomaly kill at 09:03:30, the session ends 40 ms later.
  await grants.flagForReview(g1, [{ type: 'anomaly.detected', ctx: { ...ctx('s-1'), actor: 'gatehouse' }, data: { detector: 'outputVolume', action: 'kill', evidence: { summary: 'output volume: 300 MiB in 4.0 s', sessionsEnded: ['s-1'] } } }]);
  clock.advance(40);
  await events.commit({
    sessions: [{ ...s1, state: 'ended', endedAt: clock.now(), endReason: 'anomaly' }],
    recordings: [{ sessionId: 's-1', path: '2026/01/01/s-1.cast', grantId: g1, user: 'alice', target: 'web-1', incident: 'INC-1', startedAt: s1.startedAt, endedAt: clock.now(), state: 'closed', bytes: 4096, sha256: 'ab'.repeat(32) }],
    events: [{ type: 'session.end', ctx: ctx('s-1'), data: { reason: 'anomaly', exitCode: null, durationMs: clock.now() - s1.startedAt, bytesIn: 10, bytesOut: 4000, message: 'x' } }],
  });
  // INC-1, a second grant: erin asks at 09:03:30, carol approves at 09:13:30; revoked at 09:18:30, its session ends 12 ms later.
  const g2 = (await grants.request('erin', { user: 'erin', targets: ['web-2'], incident: 'INC-1', durationMs: 30 * MIN, reason: 'second pair of hands' })).id;
  clock.advance(10 * MIN);
  await grants.approve('carol', g2);
  const s2 = session('s-2', g2, 'INC-1', clock.now(), { user: 'erin', target: 'web-2', kind: 'exec', command: 'tail -f /var/log/syslog', recording: null });
  const ctx2: EventContext = { actor: 'erin', user: 'erin', target: 'web-2', grantId: g2, incident: 'INC-1', sessionId: 's-2', source: '10.0.0.6:1' };
  await events.commit({ sessions: [s2], events: [{ type: 'session.start', ctx: ctx2, data: { kind: 'exec', command: 'tail -f /var/log/syslog', recording: null, term: null } }, { type: 'command.allowed', ctx: ctx2, data: { command: 'tail -f /var/log/syslog', reasons: [], mode: 'exec' } }] });
  clock.advance(5 * MIN);
  await grants.revoke('bob', g2, 'enough');
  clock.advance(12);
  await events.commit({ sessions: [{ ...s2, state: 'ended', endedAt: clock.now(), endReason: 'revoked' }], events: [{ type: 'session.end', ctx: ctx2, data: { reason: 'revoked', exitCode: null, durationMs: 5 * MIN + 12, bytesIn: 0, bytesOut: 10, message: null } }] });
  // INC-2: alice breaks glass at 09:28:30 for 10 minutes (unreviewed); a live session lingers. The report is read at 09:35.
  clock.advance(10 * MIN);
  const g3 = (await grants.request('alice', { user: 'alice', targets: ['web-1'], incident: 'INC-2', durationMs: 10 * MIN, reason: 'everything is on fire', template: 'emergency', breakGlass: true })).id;
  await events.commit({ sessions: [session('s-3', g3, 'INC-2', clock.now())], events: [{ type: 'session.start', ctx: { ...ctx('s-3'), grantId: g3, incident: 'INC-2' }, data: { kind: 'shell', command: null, recording: null, term: null } }] });
  clock.advance(T0 + 35 * MIN - clock.now());
  return { ...w, g1, g2, g3 };
}

describe('the post-incident review', () => {
  it('lists grants with who and when, sessions, commands (exec denials too), anomalies, recordings, reviews owed', async () => {
    const { store, clock, grants, g1, g2 } = await story();
    const r = await loadIncidentReport(store, 'INC-1', clock.now());
    expect(r.summary).toEqual({ grants: 2, breakGlass: 0, reviewsOwed: 1, sessions: 2, liveSessions: 0, commandsJudged: 5, commandsDenied: 2, anomalies: 1, firstRequestAt: '2026-01-01T09:00:00.000Z', lastActivityAt: '2026-01-01T09:18:30.052Z', lingering: false });
    expect(r.grants.map((g) => [g.id, g.user, g.state, g.approvals.map((a) => a.by), g.timeToGrantMs, g.endedBy])).toEqual([
      [g1, 'alice', 'expired', ['bob'], 2 * MIN, null],
      [g2, 'erin', 'revoked', ['carol'], 10 * MIN, 'bob'],
    ]);
    // Still `active` in the store (no expiry timer ran here), but its 30 minutes ran out at 09:32.
    expect(r.grants[0]).toMatchObject({ expiresAt: '2026-01-01T09:32:00.000Z', endedAt: '2026-01-01T09:32:00.000Z', endReason: 'expired' });
    expect(r.sessions.map((s) => [s.id, s.durationMs, s.endReason])).toEqual([
      ['s-1', 90_040, 'anomaly'],
      ['s-2', 5 * MIN + 12, 'revoked'],
    ]);
    expect(r.commands.map((c) => [c.command, c.decision, c.mode, c.offset, c.why])).toEqual([
      ['ls -la /var/log', 'allow', 'interactive', 10, null],
      ['df -h', 'allow', 'interactive', 20, null],
      ['rm -rf /var/log/old', 'deny', 'interactive', 30, 'no rule allows it'],
      ['shutdown -h now', 'deny', 'exec', null, 'matches deny rule "shutdown *"'],
      ['tail -f /var/log/syslog', 'allow', 'exec', null, null],
    ]);
    expect(r.anomalies).toEqual([{ at: '2026-01-01T09:03:30.000Z', detector: 'outputVolume', action: 'kill', user: 'alice', grantId: g1, sessionId: 's-1', summary: 'output volume: 300 MiB in 4.0 s' }]);
    expect(r.recordings).toEqual([{ sessionId: 's-1', path: '2026/01/01/s-1.cast', state: 'closed', bytes: 4096, sha256: 'ab'.repeat(32) }]);
    expect(r.reviews).toEqual([{ grantId: g1, user: 'alice', why: ['anomaly'], reviewed: null }]);
    expect(r.timeline.map((t) => t.type)).toEqual(['grant.requested', 'grant.approved', 'grant.activated', 'session.start', 'command.denied', 'command.denied', 'anomaly.detected', 'session.end', 'grant.requested', 'grant.approved', 'grant.activated', 'session.start', 'grant.revoked', 'session.end']);

    await grants.review('carol', g1, 'the output was a log dump the responder asked for');
    const after = await loadIncidentReport(store, 'INC-1', clock.now());
    expect(after.summary.reviewsOwed).toBe(0);
    expect(after.reviews[0]?.reviewed).toMatchObject({ by: 'carol', notes: 'the output was a log dump the responder asked for' });
  });

  it('flags break-glass owed a review and access still lingering', async () => {
    const { store, clock, g3 } = await story();
    const r = await loadIncidentReport(store, 'INC-2', clock.now());
    expect(r.summary).toMatchObject({ grants: 1, breakGlass: 1, reviewsOwed: 1, liveSessions: 1, lingering: true });
    expect(r.reviews).toEqual([{ grantId: g3, user: 'alice', why: ['break-glass'], reviewed: null }]);
    expect(r.lingering.grants).toEqual([{ id: g3, user: 'alice', targets: ['web-1'], state: 'active', expiresAt: '2026-01-01T09:38:30.052Z' }]);
    expect(r.lingering.sessions.map((s) => s.id)).toEqual(['s-3']);
    const text = formatIncident(r);
    expect(text).toContain(`  ${g3}  alice  break-glass  UNREVIEWED ⚠`);
    expect(text).toContain(`grant ${g3} (alice on web-1) is active until 2026-01-01 09:38:30Z ⚠`);
    expect(text).toContain('session s-3 (alice on web-1) live since 2026-01-01 09:28:30Z on b1 ⚠');
  });

  it('reads like a review: headings, aligned columns, formatted durations', async () => {
    const { store, clock } = await story();
    const text = formatIncident(await loadIncidentReport(store, 'INC-1', clock.now()));
    for (const heading of ['Post-incident review: INC-1', '\nSummary\n', '\nGrants\n', '\nSessions\n', '\nCommands (5 judged, 2 denied)\n', '\nAnomalies\n', '\nRecordings\n', '\nReviews\n', '\nLingering access\n', '\nTimeline\n']) expect(text).toContain(heading);
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('  SESSION  ') && l.includes('DURATION')) as string;
    const rows = lines.slice(lines.indexOf(header) + 1, lines.indexOf(header) + 3);
    for (const row of rows) expect(row.indexOf('10.0.0.')).toBe(header.indexOf('FROM'));
    expect(rows[0]).toContain('1m30s');
    expect(rows[1]).toContain('5m');
    expect(text).toContain('revoked');
    expect(text).toMatch(/bob\s+2m\s+/);
    expect(text).toContain('  none: every grant is over and every session has ended');
  });
});

describe('the summary across incidents', () => {
  it('percentiles of time to grant and to revoke, violation rate, break-glass counts, per incident', async () => {
    const { store, clock } = await story();
    const r = await loadSummaryReport(store, T0 - 1, clock.now());
    expect(r.incidents).toBe(2);
    expect(r.grants).toEqual({ total: 3, byState: { expired: 1, revoked: 1, active: 1 }, breakGlass: 1, unreviewedBreakGlass: 1, reviewsOwed: 2 });
    expect(r.timeToGrantMs).toEqual({ count: 2, p50: 2 * MIN, p90: 10 * MIN, p99: 10 * MIN, max: 10 * MIN });
    expect(r.timeToRevokeMs).toEqual({ count: 2, p50: 12, p90: 40, p99: 40, max: 40 });
    expect(r.commands).toEqual({ judged: 5, allowed: 3, denied: 2, held: 0, violationRate: 0.4 });
    expect(r.anomalies).toEqual({ total: 1, byDetector: { outputVolume: 1 }, byAction: { kill: 1 } });
    expect(r.perIncident.map((i) => [i.incident, i.grants, i.breakGlass, i.unreviewed, i.sessions, i.denied, i.anomalies])).toEqual([
      ['INC-1', 2, 0, 0, 2, 2, 1],
      ['INC-2', 1, 1, 1, 1, 0, 0],
    ]);
    const text = formatSummary(r, '30d');
    expect(text).toContain('Time to grant      p50 2m   p90 10m   p99 10m   max 10m   (n=2)');
    expect(text).toContain('Time to revoke     p50 12ms   p90 40ms   p99 40ms   max 40ms   (n=2)');
    expect(text).toContain('Policy violations  40.0% (2 denied of 5 judged; 0 held for review)');
    expect(text).toContain('Break-glass        1 (1 unreviewed ⚠)');
  });

  it('only counts the window: since after everything is empty', async () => {
    const { store, clock } = await story();
    const r = await loadSummaryReport(store, clock.now() + 1, clock.now() + 2);
    expect([r.incidents, r.grants.total, r.commands.judged, r.timeToGrantMs.count, r.commands.violationRate]).toEqual([0, 0, 0, 0, null]);
    expect(formatSummary(r, '1h')).toContain('Policy violations  no commands judged');
  });

  it('percentiles by nearest rank', () => {
    expect(percentiles([])).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(hundred)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
  });
});

describe('formatting helpers', () => {
  it('durations, times, tables', () => {
    expect([span(null), span(340), span(1_234), span(130_000), span(3_600_000 + 61_000)]).toEqual(['-', '340ms', '1s200ms', '2m10s', '1h1m1s']);
    expect([when(null), when('2026-01-01T09:00:00.123Z')]).toEqual(['-', '2026-01-01 09:00:00Z']);
    expect(table(['A', 'LONG HEADER', 'C'], [['xxxx', 'y', 'last column is not padded'], ['', 'yy', '']])).toBe(['  A     LONG HEADER  C', '  xxxx  y            last column is not padded', '        yy'].join('\n'));
  });
});

describe('the review list and idle ends', () => {
  it('an idle end is listed as an anomaly but owes no review; an anomaly kill does', () => {
    const g = (id: string): ReturnType<typeof grantRecord> => grantRecord({ id, state: 'active', approvedAt: T0, expiresAt: T0 + 60 * MIN, approvals: [{ by: 'bob', at: T0, contentHash: 'h', mfa: false }] });
    const finding = (seq: number, grantId: string, detector: string) => ({
      id: `e-${seq}`, seq, prevHash: '', hash: '', time: new Date(T0 + seq * 1000).toISOString(), type: 'anomaly.detected' as const, code: 'GH5000', severity: 'critical' as const, broker: 'b1',
      actor: 'gatehouse', user: 'alice', target: 'web-1', grantId, incident: 'INC-1', sessionId: `s-${seq}`, source: null,
      data: { detector, action: 'kill', evidence: { summary: `${detector} fired` } },
    });
    const r = buildIncidentReport({ incident: 'INC-1', now: T0 + 10 * MIN, grants: [g('g-idle'), { ...g('g-kill'), reviewRequired: true }], sessions: [], recordings: [], events: [finding(1, 'g-idle', 'idle'), finding(2, 'g-kill', 'deniedCommands')], commands: new Map() });
    expect(r.anomalies.map((a) => [a.grantId, a.detector, a.action])).toEqual([
      ['g-idle', 'idle', 'kill'],
      ['g-kill', 'deniedCommands', 'kill'],
    ]);
    expect(r.reviews.map((x) => [x.grantId, x.why, x.reviewed])).toEqual([['g-kill', ['anomaly'], null]]);
  });
});
