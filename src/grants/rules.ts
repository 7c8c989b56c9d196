/**
 * Pure grant rules: request validation, approval counting, and which grant (if any) lets a user
 * onto a target right now. No I/O and no clock reads — `now` is an argument — so every rule is
 * unit-tested exhaustively in microseconds.
 */
import { createHash } from 'node:crypto';
import { formatDuration } from '../domain/duration.js';
import { GatehouseError } from '../domain/errors.js';
import type { Grant } from '../domain/types.js';

export const INCIDENT_RE = /^[A-Za-z0-9][A-Za-z0-9_.:#/-]{0,63}$/;
export const MAX_REASON = 1_000;

/** The content an approval is bound to: change any of it and earlier approvals no longer count. */
export function grantContentHash(g: Pick<Grant, 'id' | 'user' | 'targets' | 'incident' | 'template' | 'durationMs' | 'reason' | 'breakGlass'>): string {
  const content = JSON.stringify([g.id, g.user, [...g.targets].sort(), g.incident, g.template, g.durationMs, g.reason, g.breakGlass]);
  return createHash('sha256').update(content).digest('hex');
}

/** Approvals that still count: bound to the grant's current content. */
export function validApprovals(g: Grant): Grant['approvals'] {
  const h = grantContentHash(g);
  return g.approvals.filter((a) => a.contentHash === h);
}

/** Active right now: state active and the deadline not passed. */
export function isLive(g: Grant, now: number): boolean {
  return g.state === 'active' && g.expiresAt !== null && now < g.expiresAt;
}

/** The state as a user should hear it: an active grant past its deadline is expired. */
export function effectiveState(g: Grant, now: number): Grant['state'] {
  return g.state === 'active' && g.expiresAt !== null && now >= g.expiresAt ? 'expired' : g.state;
}

export function validateIncident(incident: string): void {
  if (!INCIDENT_RE.test(incident)) {
    throw new GatehouseError('GH_ERR_BAD_INPUT', 'an incident id is required: letters, digits and _ . : # / - (max 64), e.g. INC-1234');
  }
}

export function validateReason(reason: string): void {
  const r = reason.trim();
  if (r.length === 0) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a reason is required');
  if (r.length > MAX_REASON) throw new GatehouseError('GH_ERR_BAD_INPUT', `the reason is longer than ${MAX_REASON} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r)) throw new GatehouseError('GH_ERR_BAD_INPUT', 'the reason contains control characters');
}

export type Refusal = { readonly ok: false; readonly message: string; readonly grantId: string | null };
export type Coverage = { readonly ok: true; readonly grant: Grant } | Refusal;

/**
 * Which grant lets `user` onto `target` now. With `grantId`, only that one. The refusal message is
 * one line that names why: no grant, pending, expired, revoked, denied, or wrong target.
 */
export function findCoveringGrant(grants: readonly Grant[], user: string, target: string, now: number, grantId?: string): Coverage {
  const mine = grants.filter((g) => g.user === user && (grantId === undefined || g.id === grantId));
  if (grantId !== undefined && mine.length === 0) return refuse(`no grant ${grantId} for ${user}`, null);
  const forTarget = mine.filter((g) => g.targets.includes(target));
  const live = forTarget.filter((g) => isLive(g, now)).sort((a, b) => (b.expiresAt ?? 0) - (a.expiresAt ?? 0));
  if (live[0] !== undefined) return { ok: true, grant: live[0] };

  const newest = [...forTarget].sort((a, b) => b.requestedAt - a.requestedAt);
  const pending = newest.find((g) => g.state === 'pending');
  if (pending) {
    return refuse(`grant ${pending.id} for ${target} is pending approval (${validApprovals(pending).length} approval(s) so far)`, pending.id);
  }
  const last = newest[0];
  if (last !== undefined) {
    switch (effectiveState(last, now)) {
      case 'expired':
        return refuse(`grant ${last.id} for ${target} expired ${last.expiresAt === null ? '' : `${formatDuration(now - last.expiresAt)} ago`}`.trimEnd(), last.id);
      case 'revoked':
        return refuse(`grant ${last.id} for ${target} was revoked${last.endedBy ? ` by ${last.endedBy}` : ''}: ${last.endReason ?? 'no reason given'}`, last.id);
      case 'denied':
        return refuse(`grant ${last.id} for ${target} was denied${last.endedBy ? ` by ${last.endedBy}` : ''}: ${last.endReason ?? 'no reason given'}`, last.id);
      default:
        break;
    }
  }
  const elsewhere = mine.find((g) => isLive(g, now));
  if (elsewhere) return refuse(`wrong target: grant ${elsewhere.id} covers ${elsewhere.targets.join(', ')}, not ${target}`, elsewhere.id);
  return refuse(`no grant for ${user} on ${target}: request one with "gatehouse grant request"`, null);
}

function refuse(message: string, grantId: string | null): Refusal {
  return { ok: false, message, grantId };
}
