/** The web API's JSON shapes (docs/web.md "API"). Times are ISO 8601 strings, or null. */
import type { Session } from '../../domain/types.js';
import type { CommandRow, RecordingRow } from '../../store/ports.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function liveJson(s: Session, here: boolean): Record<string, unknown> {
  return { id: s.id, grantId: s.grantId, user: s.user, target: s.target, incident: s.incident, kind: s.kind, command: s.command, state: s.state, startedAt: iso(s.startedAt), broker: s.broker, source: s.source, watchable: here && s.state === 'live' };
}

/**
 * `show` renders a command line from the command index for display: redacted like the recordings.
 * The index is written redacted (gateway/session-records.ts); this covers rows written before it was.
 */
export function recordingJson(r: RecordingRow, commands: number, matches: readonly CommandRow[], show: (command: string) => string = (c) => c): Record<string, unknown> {
  return {
    id: r.sessionId,
    grantId: r.grantId,
    user: r.user,
    target: r.target,
    incident: r.incident,
    startedAt: iso(r.startedAt),
    endedAt: iso(r.endedAt),
    state: r.state,
    bytes: r.bytes,
    sha256: r.sha256,
    commands,
    matches: matches.map((c) => ({ offset: c.offset, command: show(c.command), decision: c.decision })),
  };
}

/** A recording marker: `allow: ls -l` (one per command) or a note from the recorder. */
export function markerJson(time: number, label: string): { time: number; label: string; decision: string | null; command: string | null } {
  const m = /^(allow|deny|review): ([\s\S]*)$/.exec(label);
  return { time, label, decision: m ? (m[1] as string) : null, command: m ? (m[2] as string) : null };
}

