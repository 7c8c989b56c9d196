/**
 * The report across incidents (`gatehouse report --since 30d`): how fast access was granted and
 * taken away, how often the policy said no, how much break-glass there was and how much of it is
 * still unreviewed, anomalies by detector, and one line per incident.
 *
 * `loadSummaryReport` reads the store (the window's first event is found by binary search over the
 * chain, so the scan is only as long as the window); `buildSummaryReport` is pure.
 */
import type { Grant, Session } from '../domain/types.js';
import type { AuditEvent } from '../events/types.js';
import { readAllEvents } from '../grants/report.js';
import { effectiveState } from '../grants/rules.js';
import type { Store } from '../store/ports.js';

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface SummaryReport {
  readonly kind: 'summary';
  readonly since: string;
  readonly until: string;
  readonly generatedAt: string;
  readonly incidents: number;
  readonly grants: { readonly total: number; readonly byState: Readonly<Record<string, number>>; readonly breakGlass: number; readonly unreviewedBreakGlass: number; readonly reviewsOwed: number };
  /** ms from request to activation, for grants that needed approval. */
  readonly timeToGrantMs: Percentiles;
  /** ms from a revoke, kill or expiry to each affected session's end. */
  readonly timeToRevokeMs: Percentiles;
  readonly commands: { readonly judged: number; readonly allowed: number; readonly denied: number; readonly held: number; readonly violationRate: number | null };
  readonly sessions: { readonly total: number; readonly byEndReason: Readonly<Record<string, number>> };
  readonly anomalies: { readonly total: number; readonly byDetector: Readonly<Record<string, number>>; readonly byAction: Readonly<Record<string, number>> };
  readonly perIncident: readonly { incident: string; grants: number; breakGlass: number; unreviewed: number; sessions: number; denied: number; anomalies: number; firstRequestAt: string }[];
}

export interface SummaryData {
  readonly since: number;
  readonly now: number;
  /** Grants requested in the window. */
  readonly grants: readonly Grant[];
  /** Sessions started in the window. */
  readonly sessions: readonly Session[];
  /** Events of the window of the types this report reads. */
  readonly events: readonly AuditEvent[];
  /** Grants whose sessions ended in the window, by id (for expiry deadlines), may include older ones. */
  readonly grantsById: ReadonlyMap<string, Grant>;
}

const TYPES = ['command.allowed', 'command.denied', 'command.review', 'command.reviewed', 'anomaly.detected', 'grant.revoked', 'session.killed', 'session.end'];

export async function loadSummaryReport(store: Store, since: number, now: number): Promise<SummaryReport> {
  const [allGrants, allSessions] = await Promise.all([store.listGrants({ limit: 100_000 }), store.listSessions({ limit: 100_000 })]);
  const first = await firstSeqAtOrAfter(store, since);
  const events = (await readAllEvents(store, { types: TYPES }, first - 1)).filter((e) => Date.parse(e.time) >= since);
  return buildSummaryReport({
    since,
    now,
    grants: allGrants.filter((g) => g.requestedAt >= since),
    sessions: allSessions.filter((s) => s.startedAt >= since),
    events,
    grantsById: new Map(allGrants.map((g) => [g.id, g])),
  });
}

/** The first seq whose event time is at or after `at` (events are appended in time order). */
async function firstSeqAtOrAfter(store: Pick<Store, 'readEvents' | 'eventHead'>, at: number): Promise<number> {
  let lo = 1;
  let hi = (await store.eventHead()).seq + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const e = (await store.readEvents(mid - 1, 1))[0];
    if (e === undefined || Date.parse(e.time) >= at) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function percentiles(values: readonly number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number): number | null => (v.length === 0 ? null : (v[Math.max(0, Math.ceil((p / 100) * v.length) - 1)] as number));
  return { count: v.length, p50: at(50), p90: at(90), p99: at(99), max: v.length === 0 ? null : (v[v.length - 1] as number) };
}

const count = <T>(items: readonly T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

export function buildSummaryReport(d: SummaryData): SummaryReport {
  const by = (t: string): AuditEvent[] => d.events.filter((e) => e.type === t);
  const allowed = by('command.allowed').length;
  const denied = by('command.denied').length;
  const held = by('command.review').length;
  const judged = allowed + denied + held;
  const anomalies = by('anomaly.detected');
  const approvedGrants = d.grants.filter((g) => !g.breakGlass && g.approvedAt !== null && g.approvals.length > 0);
  const unreviewedBG = (gs: readonly Grant[]): number => gs.filter((g) => g.breakGlass && g.reviewRequired).length;
  const incidents = [...new Set(d.grants.map((g) => g.incident))];
  return {
    kind: 'summary',
    since: new Date(d.since).toISOString(),
    until: new Date(d.now).toISOString(),
    generatedAt: new Date(d.now).toISOString(),
    incidents: incidents.length,
    grants: {
      total: d.grants.length,
      byState: count(d.grants, (g) => effectiveState(g, d.now)),
      breakGlass: d.grants.filter((g) => g.breakGlass).length,
      unreviewedBreakGlass: unreviewedBG(d.grants),
      reviewsOwed: d.grants.filter((g) => g.reviewRequired).length,
    },
    timeToGrantMs: percentiles(approvedGrants.map((g) => (g.approvedAt as number) - g.requestedAt)),
    timeToRevokeMs: percentiles(revokeTimes(d)),
    commands: { judged, allowed, denied, held, violationRate: judged === 0 ? null : denied / judged },
    sessions: { total: d.sessions.length, byEndReason: count(d.sessions, (s) => s.endReason ?? 'live') },
    anomalies: { total: anomalies.length, byDetector: count(anomalies, (e) => String(e.data.detector)), byAction: count(anomalies, (e) => String(e.data.action)) },
    perIncident: incidents
      .map((incident) => {
        const gs = d.grants.filter((g) => g.incident === incident);
        const inc = (e: AuditEvent): boolean => e.incident === incident;
        return {
          incident,
          grants: gs.length,
          breakGlass: gs.filter((g) => g.breakGlass).length,
          unreviewed: unreviewedBG(gs),
          sessions: d.sessions.filter((s) => s.incident === incident).length,
          denied: d.events.filter((e) => e.type === 'command.denied' && inc(e)).length,
          anomalies: anomalies.filter(inc).length,
          firstRequestAt: new Date(Math.min(...gs.map((g) => g.requestedAt))).toISOString(),
        };
      })
      .sort((a, b) => a.firstRequestAt.localeCompare(b.firstRequestAt)),
  };
}

/** Trigger → session end, for every session ended by a revoke, a kill, an anomaly kill or expiry. */
function revokeTimes(d: SummaryData): number[] {
  const revokedAt = new Map<string, number>();
  const killedAt = new Map<string, number>();
  const anomalyAt = new Map<string, number>();
  const out: number[] = [];
  for (const e of d.events) {
    const at = Date.parse(e.time);
    if (e.type === 'grant.revoked' && e.grantId !== null) revokedAt.set(e.grantId, at);
    else if (e.type === 'session.killed' && e.sessionId !== null) killedAt.set(e.sessionId, at);
    else if (e.type === 'anomaly.detected' && e.data.action === 'kill') anomalyAt.set(e.sessionId ?? `g:${e.grantId ?? ''}`, at);
    else if (e.type === 'session.end') {
      const reason = e.data.reason;
      const trigger =
        reason === 'revoked' ? revokedAt.get(e.grantId ?? '')
        : reason === 'killed' ? killedAt.get(e.sessionId ?? '')
        : reason === 'anomaly' ? (anomalyAt.get(e.sessionId ?? '') ?? anomalyAt.get(`g:${e.grantId ?? ''}`))
        : reason === 'expired' ? (d.grantsById.get(e.grantId ?? '')?.expiresAt ?? undefined)
        : undefined;
      if (trigger !== undefined) out.push(Math.max(0, at - trigger));
    }
  }
  return out;
}
