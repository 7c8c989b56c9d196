/**
 * The incident report's timeline: which events it lists, and the one line of text each becomes
 * ("alice approved g-12 (MFA)"). Separate from report.ts because it is a table of wording, one
 * case per event type, that changes with the catalogue rather than with the report's rules.
 */
import type { AuditEvent } from '../events/types.js';

const short = (isoTime: string): string => isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
/** A payload value as text (strings as they are, absent as empty, anything else as JSON); report.ts uses it too. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

const TIMELINE = new Set(['grant.requested', 'grant.approved', 'grant.activated', 'grant.break_glass', 'grant.denied', 'grant.revoked', 'grant.expired', 'grant.reviewed', 'grant.updated', 'grant.approval_refused', 'session.start', 'session.end', 'session.killed', 'session.refused', 'command.denied', 'anomaly.detected']);

/** The timeline: the events a reviewer reads in order, each as one line of text. */
export function incidentTimeline(events: readonly AuditEvent[]): { at: string; type: string; text: string }[] {
  return events.filter((e) => TIMELINE.has(e.type)).map((e) => ({ at: e.time, type: e.type, text: timelineText(e) }));
}

function timelineText(e: AuditEvent): string {
  const d = e.data;
  const who = e.user ?? '?';
  switch (e.type) {
    case 'grant.requested':
      return `${e.actor ?? who} requested ${Array.isArray(d.targets) ? d.targets.join(',') : '?'}${e.actor !== null && e.actor !== e.user ? ` for ${who}` : ''} for ${typeof d.durationMs === 'number' ? `${Math.round(d.durationMs / 60_000)} min` : '?'} (${e.grantId ?? ''})${d.breakGlass ? ' [break-glass]' : ''}`;
    case 'grant.approved':
      return `${e.actor ?? '?'} approved ${e.grantId ?? ''}${d.mfa ? ' (MFA)' : ''}`;
    case 'grant.activated':
      return `${e.grantId ?? ''} active until ${short(str(d.expiresAt))}`;
    case 'grant.break_glass':
      return `${who} broke glass on ${e.target ?? '?'} (${e.grantId ?? ''})`;
    case 'grant.revoked':
    case 'grant.denied':
      return `${e.actor ?? '?'} ${e.type === 'grant.revoked' ? 'revoked' : 'denied'} ${e.grantId ?? ''}: ${str(d.reason)}`;
    case 'grant.expired':
      return `${e.grantId ?? ''} expired`;
    case 'grant.reviewed':
      return `${e.actor ?? '?'} reviewed ${e.grantId ?? ''}: ${str(d.notes)}`;
    case 'grant.updated':
      return `${e.actor ?? '?'} changed ${e.grantId ?? ''} (${str(d.approvalsVoided)} approval(s) voided)`;
    case 'grant.approval_refused':
      return `approval of ${e.grantId ?? ''} by ${e.actor ?? '?'} refused: ${str(d.message)}`;
    case 'session.start':
      return `${who} started ${str(d.kind)} ${e.sessionId ?? ''} on ${e.target ?? '?'} from ${e.source ?? '?'}${d.command ? `: ${str(d.command)}` : ''}`;
    case 'session.end':
      return `${e.sessionId ?? ''} ended (${str(d.reason)})`;
    case 'session.killed':
      return `${e.actor ?? '?'} killed ${e.sessionId ?? ''}: ${str(d.reason)}`;
    case 'session.refused':
      return `refused ${who} on ${e.target ?? '?'} from ${e.source ?? '?'}: ${str(d.message)}`;
    case 'command.denied':
      return `denied for ${who}: ${str(d.command)}`;
    case 'anomaly.detected':
      return `anomaly ${str(d.detector)} → ${str(d.action)}: ${str((d.evidence as Record<string, unknown> | undefined)?.summary)}`;
    default:
      return e.type;
  }
}
