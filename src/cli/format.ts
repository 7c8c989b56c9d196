/**
 * Wire objects → the CLI's JSON documents (DESIGN.md: a grant has id, state, user, targets,
 * incident, requestedAt, approvals, expiresAt; a session id, grantId, user, target, state,
 * startedAt, endedAt, endReason, recording) and → one-line human rows.
 */
type Wire = Record<string, unknown>;

const orNull = (v: unknown): unknown => (v === '' || v === undefined ? null : v);

export function grantJson(g: Wire): Wire {
  return {
    id: g.id,
    state: g.state,
    user: g.user,
    targets: g.targets,
    incident: g.incident,
    template: g.template,
    reason: g.reason,
    durationMs: g.durationMs,
    breakGlass: g.breakGlass,
    requestedAt: orNull(g.requestedAt),
    requestedBy: g.requestedBy,
    approvals: ((g.approvals as Wire[] | undefined) ?? []).map((a) => ({ by: a.by, at: a.at, mfa: a.mfa })),
    approvalsNeeded: g.approvalsNeeded,
    approvedAt: orNull(g.approvedAt),
    expiresAt: orNull(g.expiresAt),
    endedAt: orNull(g.endedAt),
    endReason: orNull(g.endReason),
    endedBy: orNull(g.endedBy),
    reviewRequired: g.reviewRequired,
  };
}

export function sessionJson(s: Wire): Wire {
  return {
    id: s.id,
    grantId: s.grantId,
    user: s.user,
    target: s.target,
    incident: s.incident,
    state: s.state,
    kind: s.kind,
    command: orNull(s.command),
    startedAt: orNull(s.startedAt),
    endedAt: orNull(s.endedAt),
    endReason: orNull(s.endReason),
    exitCode: s.hasExitCode ? s.exitCode : null,
    source: s.source,
    broker: s.broker,
    recording: orNull(s.recording),
  };
}

const short = (iso: unknown): string => (typeof iso === 'string' && iso !== '' ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export function grantLine(g: Wire): string {
  const approvals = ((g.approvals as Wire[] | undefined) ?? []).map((a) => a.by).join(',') || '-';
  const when = g.state === 'active' ? `expires ${short(g.expiresAt)}` : g.state === 'pending' ? `approvals ${((g.approvals as unknown[]) ?? []).length}/${String(g.approvalsNeeded)}` : `${String(g.endReason || g.state)}`;
  return [g.id, pad(String(g.state), 8), pad(String(g.user), 10), pad((g.targets as string[]).join(','), 16), pad(String(g.incident), 12), `by:${approvals}`, when].join('  ');
}

export function sessionLine(s: Wire): string {
  const end = s.state === 'live' ? 'live' : `${String(s.endReason)}${s.hasExitCode ? ` (${String(s.exitCode)})` : ''}`;
  return [s.id, pad(String(s.user), 10), pad(String(s.target), 14), pad(String(s.incident), 12), short(s.startedAt), end].join('  ');
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
