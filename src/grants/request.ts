/**
 * Building a grant request: who may ask, for what, under which template, for how long, and the
 * break-glass variant (active at once, capped short, loud, review required afterwards). Pure apart
 * from reading the inventory it is given; the ticket check happens before, in the service.
 */
import { formatDuration } from '../domain/duration.js';
import { GatehouseError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Grant, Target, Template } from '../domain/types.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { Directory } from './directory.js';
import { validateIncident, validateReason } from './rules.js';
import { entryCovers, templateCovers } from './targets.js';

export interface GrantRequest {
  readonly user: string;
  readonly targets: readonly string[];
  readonly incident: string;
  readonly durationMs: number;
  readonly reason: string;
  readonly template?: string | undefined;
  readonly breakGlass?: boolean | undefined;
}

export interface RequestContext {
  readonly directory: Directory;
  readonly targets: ReadonlyMap<string, Target>;
  readonly templates: ReadonlyMap<string, Template>;
}

export function resolveTargets(rc: RequestContext, names: readonly string[]): Target[] {
  if (names.length === 0) throw new GatehouseError('GH_ERR_BAD_INPUT', 'at least one target is required');
  return [...new Set(names)].map((name) => {
    const t = rc.targets.get(name);
    if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TARGET', `no target ${JSON.stringify(name)} in the inventory`);
    return t;
  });
}

export function pickTemplate(rc: RequestContext, name: string | undefined, targets: readonly Target[]): Template {
  if (name !== undefined) {
    const t = rc.templates.get(name);
    if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `no template ${JSON.stringify(name)}`);
    const outside = targets.filter((x) => !templateCovers(t, x));
    if (outside.length > 0) throw new GatehouseError('GH_ERR_TARGET_SCOPE', `template ${t.name} does not cover ${outside.map((x) => x.name).join(', ')}`);
    return t;
  }
  const t = [...rc.templates.values()].find((tpl) => targets.every((x) => templateCovers(tpl, x)));
  if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `no template covers ${targets.map((x) => x.name).join(', ')}; name one with --template`);
  return t;
}

export function checkDuration(template: Template, durationMs: number, breakGlass: boolean): void {
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0) throw new GatehouseError('GH_ERR_BAD_DURATION', 'the duration must be positive');
  const cap = breakGlass ? Math.min(template.breakGlass.maxDurationMs, template.maxDurationMs) : template.maxDurationMs;
  if (durationMs > cap) {
    throw new GatehouseError('GH_ERR_DURATION_CAP', `template ${template.name} allows at most ${formatDuration(cap)}${breakGlass ? ' for break-glass' : ''}, asked for ${formatDuration(durationMs)}`);
  }
}

/** Break-glass only where the template allows it: for its users and targets. */
export function checkBreakGlass(template: Template, user: string, targets: readonly Target[]): void {
  const bg = template.breakGlass;
  if (!bg.allowed) throw new GatehouseError('GH_ERR_BREAK_GLASS', `template ${template.name} does not allow break-glass`);
  if (bg.users !== null && !bg.users.includes(user)) throw new GatehouseError('GH_ERR_BREAK_GLASS', `${user} may not break glass under template ${template.name}`);
  if (bg.targets !== null) {
    const outside = targets.filter((t) => !(bg.targets as string[]).some((e) => entryCovers(e, t)));
    if (outside.length > 0) throw new GatehouseError('GH_ERR_BREAK_GLASS', `break-glass under ${template.name} does not reach ${outside.map((t) => t.name).join(', ')}`);
  }
}

/** Validates a request and builds the new grant and its events (active at once for break-glass or no-approval templates). */
export function buildRequest(rc: RequestContext, caller: string, req: GrantRequest, now: number, source: string | null): { grant: Grant; events: EventDraft[] } {
  if (caller !== req.user && !rc.directory.hasRole(caller, 'admin')) {
    throw new GatehouseError('GH_ERR_FORBIDDEN', `${caller} may request access only for themselves`);
  }
  const user = rc.directory.get(req.user);
  if (user === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_USER', `no user ${req.user}`);
  if (!user.roles.includes('responder')) throw new GatehouseError('GH_ERR_FORBIDDEN', `${req.user} does not hold the responder role`);
  validateIncident(req.incident);
  validateReason(req.reason);
  const targets = resolveTargets(rc, req.targets);
  const template = pickTemplate(rc, req.template, targets);
  const breakGlass = req.breakGlass === true;
  if (breakGlass) checkBreakGlass(template, req.user, targets);
  checkDuration(template, req.durationMs, breakGlass);

  let grant: Grant = {
    id: newId('g'),
    user: req.user,
    targets: targets.map((t) => t.name),
    incident: req.incident,
    template: template.name,
    reason: req.reason.trim(),
    durationMs: req.durationMs,
    breakGlass,
    state: 'pending',
    requestedAt: now,
    requestedBy: caller,
    approvals: [],
    approvedAt: null,
    expiresAt: null,
    endedAt: null,
    endReason: null,
    endedBy: null,
    reviewRequired: breakGlass,
    version: 1,
  };
  const ctx: EventContext = { actor: caller, user: grant.user, grantId: grant.id, incident: grant.incident, target: grant.targets.join(','), source };
  const data = { targets: [...grant.targets], template: template.name, durationMs: grant.durationMs, reason: grant.reason, breakGlass };
  const events: EventDraft[] = [{ type: 'grant.requested', ctx, data }];
  if (breakGlass || template.approvers.length === 0) {
    grant = { ...grant, state: 'active', approvedAt: now, expiresAt: now + grant.durationMs };
    if (breakGlass) events.push({ type: 'grant.break_glass', ctx, data });
    events.push({ type: 'grant.activated', ctx, data: { expiresAt: new Date(grant.expiresAt as number).toISOString(), approvers: [] } });
  }
  return { grant, events };
}
