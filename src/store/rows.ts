/**
 * Row <-> domain mapping shared by both adapters. Column names are snake_case; JSON columns hold
 * arrays and payloads. Both SQL dialects use the same column set (see sqlite/schema.ts and
 * postgres/schema.ts).
 */
import type { Approval, EndReason, Grant, GrantState, Session } from '../domain/types.js';
import type { EventType, Severity } from '../events/catalogue.js';
import type { AuditEvent } from '../events/types.js';
import type { CommandRow, CommandSummary, RecordingRow, RecordingState } from './ports.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function grantToRow(g: Grant): Row {
  return {
    id: g.id,
    user_name: g.user,
    targets: JSON.stringify(g.targets),
    incident: g.incident,
    template: g.template,
    reason: g.reason,
    duration_ms: g.durationMs,
    break_glass: g.breakGlass ? 1 : 0,
    state: g.state,
    requested_at: g.requestedAt,
    requested_by: g.requestedBy,
    approvals: JSON.stringify(g.approvals),
    approved_at: g.approvedAt,
    expires_at: g.expiresAt,
    ended_at: g.endedAt,
    end_reason: g.endReason,
    ended_by: g.endedBy,
    review_required: g.reviewRequired ? 1 : 0,
    version: g.version,
  };
}

export function rowToGrant(r: Row): Grant {
  return {
    id: String(r.id),
    user: String(r.user_name),
    targets: json<string[]>(r.targets),
    incident: String(r.incident),
    template: String(r.template),
    reason: String(r.reason),
    durationMs: num(r.duration_ms),
    breakGlass: Boolean(num(r.break_glass)),
    state: r.state as GrantState,
    requestedAt: num(r.requested_at),
    requestedBy: String(r.requested_by),
    approvals: json<Approval[]>(r.approvals),
    approvedAt: numOrNull(r.approved_at),
    expiresAt: numOrNull(r.expires_at),
    endedAt: numOrNull(r.ended_at),
    endReason: strOrNull(r.end_reason),
    endedBy: strOrNull(r.ended_by),
    reviewRequired: Boolean(num(r.review_required)),
    version: num(r.version),
  };
}

export function sessionToRow(s: Session): Row {
  return {
    id: s.id,
    grant_id: s.grantId,
    user_name: s.user,
    target: s.target,
    incident: s.incident,
    kind: s.kind,
    command: s.command,
    state: s.state,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    end_reason: s.endReason,
    exit_code: s.exitCode,
    source: s.source,
    broker: s.broker,
    recording: s.recording,
  };
}

export function rowToSession(r: Row): Session {
  return {
    id: String(r.id),
    grantId: String(r.grant_id),
    user: String(r.user_name),
    target: String(r.target),
    incident: String(r.incident),
    kind: r.kind as Session['kind'],
    command: strOrNull(r.command),
    state: r.state as Session['state'],
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    endReason: strOrNull(r.end_reason) as EndReason | null,
    exitCode: numOrNull(r.exit_code),
    source: String(r.source),
    broker: String(r.broker),
    recording: strOrNull(r.recording),
  };
}

export function recordingToRow(x: RecordingRow): Row {
  return {
    session_id: x.sessionId,
    path: x.path,
    grant_id: x.grantId,
    user_name: x.user,
    target: x.target,
    incident: x.incident,
    started_at: x.startedAt,
    ended_at: x.endedAt,
    state: x.state,
    bytes: x.bytes,
    sha256: x.sha256,
  };
}

export function rowToRecording(r: Row): RecordingRow {
  return {
    sessionId: String(r.session_id),
    path: String(r.path),
    grantId: String(r.grant_id),
    user: String(r.user_name),
    target: String(r.target),
    incident: String(r.incident),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
    state: r.state as RecordingState,
    bytes: numOrNull(r.bytes),
    sha256: strOrNull(r.sha256),
  };
}

export function commandToRow(c: CommandRow): Row {
  return { session_id: c.sessionId, offset_s: c.offset, at: c.at, command: c.command, decision: c.decision };
}

export function rowToCommand(r: Row): CommandRow {
  return { sessionId: String(r.session_id), offset: num(r.offset_s), at: num(r.at), command: String(r.command), decision: r.decision as CommandRow['decision'] };
}

/** `counts` rows (session_id, n) and the matching commands, per session. */
export function commandSummaries(counts: readonly Row[], matches: readonly CommandRow[]): Map<string, CommandSummary> {
  const out = new Map<string, { count: number; matches: CommandRow[] }>(counts.map((r) => [String(r.session_id), { count: num(r.n), matches: [] }]));
  for (const c of matches) out.get(c.sessionId)?.matches.push(c);
  return out;
}

export function eventToRow(e: AuditEvent): Row {
  return {
    seq: e.seq,
    id: e.id,
    time: e.time,
    type: e.type,
    code: e.code,
    severity: e.severity,
    broker: e.broker,
    actor: e.actor,
    user_name: e.user,
    target: e.target,
    grant_id: e.grantId,
    incident: e.incident,
    session_id: e.sessionId,
    source: e.source,
    data: JSON.stringify(e.data),
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

export function rowToEvent(r: Row): AuditEvent {
  return {
    id: String(r.id),
    time: String(r.time),
    type: r.type as EventType,
    code: String(r.code),
    severity: r.severity as Severity,
    broker: String(r.broker),
    actor: strOrNull(r.actor),
    user: strOrNull(r.user_name),
    target: strOrNull(r.target),
    grantId: strOrNull(r.grant_id),
    incident: strOrNull(r.incident),
    sessionId: strOrNull(r.session_id),
    source: strOrNull(r.source),
    data: json<Record<string, unknown>>(r.data),
    seq: num(r.seq),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

export const GRANT_COLUMNS = Object.keys(grantToRow({ approvals: [], targets: [] } as unknown as Grant));
export const SESSION_COLUMNS = Object.keys(sessionToRow({} as Session));
export const RECORDING_COLUMNS = Object.keys(recordingToRow({} as RecordingRow));
export const COMMAND_COLUMNS = Object.keys(commandToRow({} as CommandRow));
export const EVENT_COLUMNS = Object.keys(eventToRow({ data: {} } as AuditEvent));
