/**
 * What a session writes about itself: the context its events carry, its row in the store, its
 * recording's row, and the events and command-index rows of its start, its judged commands, its
 * end or its refusal. Pure functions of the spec and the outcome; session.ts decides when they are
 * written, this file only what they hold.
 */
import type { GatehouseError } from '../domain/errors.js';
import type { EndReason, Session } from '../domain/types.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { Decision } from '../policy/index.js';
import { redactText } from '../recording/redact.js';
import type { CastSummary } from '../recording/writer.js';
import type { CommandRow, RecordingRow } from '../store/ports.js';
import type { SessionSpec } from './session-spec.js';

export function sessionContext(spec: SessionSpec): EventContext {
  return { actor: spec.grant.user, user: spec.grant.user, target: spec.target.name, grantId: spec.grant.id, incident: spec.grant.incident, sessionId: spec.id, source: spec.source };
}

/** The session's row: live while `reason` is null. `recording` is the recording's path, if any. */
export function sessionRow(spec: SessionSpec, startedAt: number, broker: string, recording: string | null, reason: EndReason | null, exitCode: number | null, endedAt: number | null): Session {
  return {
    id: spec.id,
    grantId: spec.grant.id,
    user: spec.grant.user,
    target: spec.target.name,
    incident: spec.grant.incident,
    kind: spec.kind,
    command: spec.command ?? null,
    state: reason === null ? 'live' : 'ended',
    startedAt,
    endedAt,
    endReason: reason,
    exitCode,
    source: spec.source,
    broker,
    recording,
  };
}

export function recordingRow(spec: SessionSpec, startedAt: number, path: string, state: RecordingRow['state'], summary: { sha256: string; bytes: number } | null, endedAt: number | null): RecordingRow {
  return {
    sessionId: spec.id,
    path,
    grantId: spec.grant.id,
    user: spec.grant.user,
    target: spec.target.name,
    incident: spec.grant.incident,
    startedAt,
    endedAt,
    state,
    bytes: summary?.bytes ?? null,
    sha256: summary?.sha256 ?? null,
  };
}

/** `session.start`, and for an exec command its judgement (event and index row, at offset 0). */
export function startRecords(spec: SessionSpec, startedAt: number, recording: string | null): { events: EventDraft[]; commands: CommandRow[] } {
  const events: EventDraft[] = [{ type: 'session.start', ctx: sessionContext(spec), data: { kind: spec.kind, command: spec.command ?? (spec.subsystem !== undefined ? `subsystem:${spec.subsystem}` : null), recording, term: spec.pty?.term ?? null } }];
  const commands: CommandRow[] = [];
  if (spec.decision !== null && spec.command !== undefined) {
    events.push({ type: 'command.allowed', ctx: sessionContext(spec), data: { command: spec.command, reasons: spec.decision.reasons, mode: 'exec' } });
    commands.push({ sessionId: spec.id, offset: 0, at: startedAt, command: redactText(spec.command), decision: spec.decision.decision });
  }
  return { events, commands };
}

/** A judged interactive command: its event (for a review, only `extra`) and its index row. */
export function judgedRecords(spec: SessionSpec, command: string, decision: Decision, extra: EventDraft[], offset: number, at: number): { commands: CommandRow[]; events: EventDraft[] } {
  const type = decision.decision === 'allow' ? 'command.allowed' : decision.decision === 'deny' ? 'command.denied' : 'command.review';
  const events: EventDraft[] = type === 'command.review' ? extra : [{ type, ctx: sessionContext(spec), data: { command, reasons: decision.reasons, mode: 'interactive' } }, ...extra];
  // The index is for search and seeking: redacted like the marker, so a search cannot confirm a guessed secret (the event keeps the line as judged).
  return { commands: [{ sessionId: spec.id, offset, at, command: redactText(command), decision: decision.decision }], events };
}

/** How a started session ended, as `session.end` reports it. */
export interface SessionOutcome {
  readonly reason: EndReason;
  readonly exitCode: number | null;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly stats: { readonly bytesIn: number; readonly bytesOut: number };
  readonly message: string | undefined;
}

/** The events of a started session's end: `extra` first, then `session.end`, then the closed recording. */
export function endEvents(spec: SessionSpec, extra: EventDraft[], end: SessionOutcome, recording: { path: string; summary: CastSummary } | null): EventDraft[] {
  const { reason, exitCode, startedAt, endedAt, stats, message } = end;
  const events: EventDraft[] = [
    ...extra,
    { type: 'session.end', ctx: sessionContext(spec), at: endedAt, data: { reason, exitCode, durationMs: endedAt - startedAt, bytesIn: stats.bytesIn, bytesOut: stats.bytesOut, message: message ?? null } },
  ];
  if (recording) {
    events.push({ type: 'recording.closed', ctx: sessionContext(spec), data: { path: recording.path, sha256: recording.summary.sha256, bytes: recording.summary.bytes, truncated: recording.summary.truncated } });
  }
  return events;
}

/** A session that never started: `session.refused`, and the host key the target presented when that was why. */
export function refusalEvents(spec: SessionSpec, err: GatehouseError): EventDraft[] {
  const events: EventDraft[] = [{ type: 'session.refused', ctx: sessionContext(spec), data: { error: err.code, message: err.message } }];
  if (err.code === 'GH_ERR_HOST_KEY_MISMATCH') {
    events.push({ type: 'upstream.host_key_mismatch', ctx: sessionContext(spec), data: { expected: String(err.details?.expected), presented: String(err.details?.presented) } });
  }
  return events;
}
