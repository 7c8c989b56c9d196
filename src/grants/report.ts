/**
 * The post-incident review (`gatehouse report --incident INC`): everything the broker knows about
 * the access given for one incident — grants (who asked, who approved, when, how long it took),
 * sessions (how long, why they ended), commands run and denied, anomalies, recordings with their
 * hashes, reviews owed (break-glass, anomaly kills) and any access still lingering.
 *
 * `loadIncidentReport` reads the store; `buildIncidentReport` is pure (data in, report out), so
 * every rule is unit-tested without a broker. The report is a JSON document; the CLI formats it.
 */
import type { Grant, Session } from '../domain/types.js';
import type { AuditEvent } from '../events/types.js';
import { redactText } from '../recording/redact.js';
import type { CommandRow, EventFilter, RecordingRow, Store } from '../store/ports.js';
import { incidentTimeline, str } from './report-timeline.js';
import { effectiveState } from './rules.js';

export interface IncidentReport {
  readonly kind: 'incident';
  readonly incident: string;
  readonly generatedAt: string;
  readonly summary: {
    readonly grants: number;
    readonly breakGlass: number;
    readonly reviewsOwed: number;
    readonly sessions: number;
    readonly liveSessions: number;
    readonly commandsJudged: number;
    readonly commandsDenied: number;
    readonly anomalies: number;
    readonly firstRequestAt: string | null;
    readonly lastActivityAt: string | null;
    readonly lingering: boolean;
  };
  readonly grants: readonly GrantEntry[];
  readonly sessions: readonly SessionEntry[];
  readonly commands: readonly CommandEntry[];
  readonly anomalies: readonly AnomalyEntry[];
  readonly recordings: readonly RecordingEntry[];
  readonly reviews: readonly ReviewEntry[];
  readonly lingering: { readonly grants: readonly { id: string; user: string; targets: readonly string[]; state: string; expiresAt: string | null }[]; readonly sessions: readonly { id: string; user: string; target: string; startedAt: string; broker: string }[] };
  readonly timeline: readonly { at: string; type: string; text: string }[];
}

export interface GrantEntry {
  readonly id: string;
  readonly user: string;
  readonly targets: readonly string[];
  readonly template: string;
  readonly state: string;
  readonly breakGlass: boolean;
  readonly reason: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly approvals: readonly { by: string; at: string; mfa: boolean }[];
  readonly activatedAt: string | null;
  readonly timeToGrantMs: number | null;
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly endedBy: string | null;
  readonly reviewRequired: boolean;
}

export interface SessionEntry {
  readonly id: string;
  readonly grantId: string;
  readonly user: string;
  readonly target: string;
  readonly kind: 'shell' | 'exec';
  readonly command: string | null;
  readonly source: string;
  readonly broker: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly durationMs: number;
  readonly endReason: string | null;
  readonly exitCode: number | null;
  readonly live: boolean;
  readonly recording: string | null;
}

export interface CommandEntry {
  readonly at: string;
  readonly sessionId: string | null;
  readonly user: string | null;
  readonly target: string | null;
  readonly command: string;
  readonly decision: 'allow' | 'deny' | 'review';
  readonly mode: string | null;
  /** Why it was denied or held (the first reason that is not an allow). */
  readonly why: string | null;
  /** Review outcome for held commands: approved | rejected | timeout | pending. */
  readonly outcome: string | null;
  /** Seconds into the session's recording (from the command index), for `replay`. */
  readonly offset: number | null;
}

export interface AnomalyEntry {
  readonly at: string;
  readonly detector: string;
  readonly action: string;
  readonly user: string | null;
  readonly grantId: string | null;
  readonly sessionId: string | null;
  readonly summary: string;
}

export interface RecordingEntry {
  readonly sessionId: string;
  readonly path: string;
  readonly state: string;
  readonly bytes: number | null;
  readonly sha256: string | null;
}

export interface ReviewEntry {
  readonly grantId: string;
  readonly user: string;
  /** Why a review is owed: break-glass, an anomaly kill/revoke, or both. */
  readonly why: readonly ('break-glass' | 'anomaly')[];
  readonly reviewed: { readonly by: string | null; readonly at: string; readonly notes: string } | null;
}

export interface IncidentData {
  readonly incident: string;
  readonly now: number;
  readonly grants: readonly Grant[];
  readonly sessions: readonly Session[];
  readonly recordings: readonly RecordingRow[];
  /** Events of the incident and of its grants, in chain order. */
  readonly events: readonly AuditEvent[];
  /** The command index, per session id. */
  readonly commands: ReadonlyMap<string, readonly CommandRow[]>;
}

const PAGE = 1_000;

/** Every event after `afterSeq` matching `filter`, in chain order. */
export async function readAllEvents(store: Pick<Store, 'readEvents'>, filter: EventFilter, afterSeq = 0, max = 200_000): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (let after = afterSeq; out.length < max; ) {
    const page = await store.readEvents(after, PAGE, filter);
    out.push(...page);
    if (page.length < PAGE) break;
    after = (page[page.length - 1] as AuditEvent).seq;
  }
  return out;
}

export async function loadIncidentReport(store: Store, incident: string, now: number): Promise<IncidentReport> {
  const [grants, sessions, recordings, byIncident] = await Promise.all([
    store.listGrants({ incident, limit: 10_000 }),
    store.listSessions({ incident, limit: 10_000 }),
    store.listRecordings({ incident, limit: 10_000 }),
    readAllEvents(store, { incident }),
  ]);
  // Refusals are written before a connection knows its incident: fetch them by grant as well.
  const byGrant = await Promise.all(grants.map((g) => readAllEvents(store, { grantId: g.id, types: ['session.refused', 'anomaly.detected'] })));
  const seen = new Set<number>();
  const events = [...byIncident, ...byGrant.flat()].filter((e) => !seen.has(e.seq) && seen.add(e.seq)).sort((a, b) => a.seq - b.seq);
  const commands = new Map(await Promise.all(sessions.map(async (s) => [s.id, await store.listCommands(s.id)] as const)));
  return buildIncidentReport({ incident, now, grants, sessions, recordings, events, commands });
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function buildIncidentReport(d: IncidentData): IncidentReport {
  const grants = [...d.grants].sort((a, b) => a.requestedAt - b.requestedAt).map((g) => grantEntry(g, d.now));
  const sessions = [...d.sessions].sort((a, b) => a.startedAt - b.startedAt).map((s) => sessionEntry(s, d.now));
  const commands = commandEntries(d.events, d.commands);
  const anomalies = d.events
    .filter((e) => e.type === 'anomaly.detected')
    .map((e) => ({ at: e.time, detector: str(e.data.detector), action: str(e.data.action), user: e.user, grantId: e.grantId, sessionId: e.sessionId, summary: str((e.data.evidence as Record<string, unknown> | undefined)?.summary) }));
  const reviewed = new Map(d.events.filter((e) => e.type === 'grant.reviewed' && e.grantId !== null).map((e) => [e.grantId as string, { by: e.actor, at: e.time, notes: str(e.data.notes) }]));
  // An idle end is recorded as a finding but owes no review (src/monitor/anomaly/engine.ts endIdle).
  const flagged = new Set(anomalies.filter((a) => a.action !== 'alert' && a.detector !== 'idle' && a.grantId !== null).map((a) => a.grantId as string));
  const reviews: ReviewEntry[] = d.grants
    .filter((g) => g.breakGlass || flagged.has(g.id) || g.reviewRequired)
    .map((g) => ({ grantId: g.id, user: g.user, why: [...(g.breakGlass ? ['break-glass' as const] : []), ...(flagged.has(g.id) || (g.reviewRequired && !g.breakGlass) ? ['anomaly' as const] : [])], reviewed: g.reviewRequired ? null : (reviewed.get(g.id) ?? null) }));
  const lingeringGrants = d.grants.filter((g) => ['pending', 'active'].includes(effectiveState(g, d.now))).map((g) => ({ id: g.id, user: g.user, targets: g.targets, state: effectiveState(g, d.now), expiresAt: iso(g.expiresAt) }));
  const lingeringSessions = d.sessions.filter((s) => s.state === 'live').map((s) => ({ id: s.id, user: s.user, target: s.target, startedAt: new Date(s.startedAt).toISOString(), broker: s.broker }));
  const times = d.events.map((e) => Date.parse(e.time));
  return {
    kind: 'incident',
    incident: d.incident,
    generatedAt: new Date(d.now).toISOString(),
    summary: {
      grants: grants.length,
      breakGlass: grants.filter((g) => g.breakGlass).length,
      reviewsOwed: reviews.filter((r) => r.reviewed === null).length,
      sessions: sessions.length,
      liveSessions: lingeringSessions.length,
      commandsJudged: commands.length,
      commandsDenied: commands.filter((c) => c.decision === 'deny' || c.outcome === 'rejected' || c.outcome === 'timeout').length,
      anomalies: anomalies.length,
      firstRequestAt: grants[0]?.requestedAt ?? null,
      lastActivityAt: times.length > 0 ? new Date(Math.max(...times)).toISOString() : null,
      lingering: lingeringGrants.length > 0 || lingeringSessions.length > 0,
    },
    grants,
    sessions,
    commands,
    anomalies,
    recordings: [...d.recordings].sort((a, b) => a.startedAt - b.startedAt).map((r) => ({ sessionId: r.sessionId, path: r.path, state: r.state, bytes: r.bytes, sha256: r.sha256 })),
    reviews,
    lingering: { grants: lingeringGrants, sessions: lingeringSessions },
    timeline: incidentTimeline(d.events),
  };
}

function grantEntry(g: Grant, now: number): GrantEntry {
  return {
    id: g.id,
    user: g.user,
    targets: g.targets,
    template: g.template,
    state: effectiveState(g, now),
    breakGlass: g.breakGlass,
    reason: g.reason,
    requestedBy: g.requestedBy,
    requestedAt: new Date(g.requestedAt).toISOString(),
    approvals: g.approvals.map((a) => ({ by: a.by, at: new Date(a.at).toISOString(), mfa: a.mfa })),
    activatedAt: iso(g.approvedAt),
    timeToGrantMs: g.approvedAt === null ? null : g.approvedAt - g.requestedAt,
    expiresAt: iso(g.expiresAt),
    endedAt: iso(g.endedAt ?? (effectiveState(g, now) === 'expired' ? g.expiresAt : null)),
    endReason: g.endReason ?? (effectiveState(g, now) === 'expired' ? 'expired' : null),
    endedBy: g.endedBy,
    reviewRequired: g.reviewRequired,
  };
}

function sessionEntry(s: Session, now: number): SessionEntry {
  return {
    id: s.id,
    grantId: s.grantId,
    user: s.user,
    target: s.target,
    kind: s.kind,
    command: s.command,
    source: s.source,
    broker: s.broker,
    startedAt: new Date(s.startedAt).toISOString(),
    endedAt: iso(s.endedAt),
    durationMs: (s.endedAt ?? now) - s.startedAt,
    endReason: s.endReason,
    exitCode: s.exitCode,
    live: s.state === 'live',
    recording: s.recording,
  };
}

/** Judged commands from the events (exec denials never reach the index), with index offsets attached. */
function commandEntries(events: readonly AuditEvent[], index: ReadonlyMap<string, readonly CommandRow[]>): CommandEntry[] {
  const outcomes = new Map(events.filter((e) => e.type === 'command.reviewed').map((e) => [str(e.data.reviewId), str(e.data.outcome)]));
  const used = new Set<CommandRow>();
  const decisionOf = { 'command.allowed': 'allow', 'command.denied': 'deny', 'command.review': 'review' } as const;
  return events
    .filter((e): e is AuditEvent & { type: keyof typeof decisionOf } => e.type in decisionOf)
    .map((e) => {
      const decision = decisionOf[e.type];
      const command = str(e.data.command);
      // The index holds command lines redacted (gateway/session-records.ts); rows from before that hold them as typed.
      const indexed = redactText(command);
      const row = e.sessionId === null ? undefined : index.get(e.sessionId)?.find((r) => !used.has(r) && (r.command === indexed || r.command === command) && r.decision === decision);
      if (row) used.add(row);
      const reasons = (Array.isArray(e.data.reasons) ? e.data.reasons : []) as { why?: string; rule?: string | null }[];
      const why = decision === 'allow' ? null : (reasons.find((r) => !String(r.why ?? '').startsWith('matches allow'))?.why ?? null);
      return { at: e.time, sessionId: e.sessionId, user: e.user, target: e.target, command, decision, mode: typeof e.data.mode === 'string' ? e.data.mode : null, why, outcome: decision === 'review' ? (outcomes.get(str(e.data.reviewId)) ?? 'pending') : null, offset: row?.offset ?? null };
    });
}
