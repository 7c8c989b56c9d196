/** Domain → wire shapes. Empty string stands for "not set" on the wire (see the .proto). */
import type { Grant, Session, Template } from '../../domain/types.js';

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());

export function grantToWire(g: Grant, template: Template | undefined, now: number): Record<string, unknown> {
  const expired = g.state === 'active' && g.expiresAt !== null && now >= g.expiresAt;
  return {
    id: g.id,
    state: expired ? 'expired' : g.state,
    user: g.user,
    targets: g.targets,
    incident: g.incident,
    template: g.template,
    reason: g.reason,
    durationMs: g.durationMs,
    breakGlass: g.breakGlass,
    requestedAt: iso(g.requestedAt),
    requestedBy: g.requestedBy,
    approvals: g.approvals.map((a) => ({ by: a.by, at: iso(a.at), mfa: a.mfa })),
    approvalsNeeded: template ? Math.max(template.approvals, g.breakGlass ? 0 : 1) : 0,
    approvedAt: iso(g.approvedAt),
    expiresAt: iso(g.expiresAt),
    endedAt: iso(g.endedAt ?? (expired ? g.expiresAt : null)),
    endReason: g.endReason ?? (expired ? 'expired' : ''),
    endedBy: g.endedBy ?? '',
    reviewRequired: g.reviewRequired,
  };
}

export function sessionToWire(s: Session): Record<string, unknown> {
  return {
    id: s.id,
    grantId: s.grantId,
    user: s.user,
    target: s.target,
    incident: s.incident,
    state: s.state,
    kind: s.kind,
    command: s.command ?? '',
    startedAt: iso(s.startedAt),
    endedAt: iso(s.endedAt),
    endReason: s.endReason ?? '',
    exitCode: s.exitCode ?? 0,
    hasExitCode: s.exitCode !== null,
    source: s.source,
    broker: s.broker,
    recording: s.recording ?? '',
  };
}
