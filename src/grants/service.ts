/**
 * The grant lifecycle: request → (approvals) → active → expired | revoked, or pending → denied.
 * Every change is one commit of the new grant and the events that describe it. Concurrent writers
 * (two approvers at once, two brokers) are serialised by the grant's version; a conflict is
 * retried from a fresh read, so the rules are always applied to the latest state.
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { formatDuration } from '../domain/duration.js';
import { GatehouseError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Grant, Role, Target, Template } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { GrantFilter, Store } from '../store/ports.js';
import type { Directory } from './directory.js';
import { verifyTotpOnce } from './mfa.js';
import { effectiveState, findCoveringGrant, grantContentHash, validateIncident, validateReason, validApprovals, type Coverage } from './rules.js';
import { templateCovers } from './targets.js';

export interface GrantRequest {
  readonly user: string;
  readonly targets: readonly string[];
  readonly incident: string;
  readonly durationMs: number;
  readonly reason: string;
  readonly template?: string | undefined;
  readonly breakGlass?: boolean | undefined;
}

export interface GrantServiceDeps {
  readonly store: Store;
  readonly events: EventLog;
  readonly directory: Directory;
  readonly targets: readonly Target[];
  readonly templates: readonly Template[];
  readonly clock: Clock;
  readonly log: Logger;
}

const MAX_CONFLICT_RETRIES = 5;

export class GrantService {
  private readonly targets: Map<string, Target>;
  private readonly templates: Map<string, Template>;

  constructor(private readonly d: GrantServiceDeps) {
    this.targets = new Map(d.targets.map((t) => [t.name, t]));
    this.templates = new Map(d.templates.map((t) => [t.name, t]));
  }

  template(name: string): Template | undefined {
    return this.templates.get(name);
  }

  async get(caller: string, id: string): Promise<Grant> {
    const g = await this.d.store.getGrant(id);
    if (g === undefined || !this.canSee(caller, g)) throw new GatehouseError('GH_ERR_GRANT_NOT_FOUND', `no grant ${id}`);
    return g;
  }

  async list(caller: string, filter: GrantFilter & { active?: boolean }): Promise<Grant[]> {
    const states = filter.active ? (['active'] as const) : filter.states;
    const all = await this.d.store.listGrants({ ...filter, ...(states && { states }) });
    const now = this.d.clock.now();
    return all.filter((g) => this.canSee(caller, g) && (!filter.active || effectiveState(g, now) === 'active'));
  }

  async request(caller: string, req: GrantRequest, source?: string): Promise<Grant> {
    const { directory } = this.d;
    if (caller !== req.user && !directory.hasRole(caller, 'admin')) {
      throw new GatehouseError('GH_ERR_FORBIDDEN', `${caller} may request access only for themselves`);
    }
    const user = directory.get(req.user);
    if (user === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_USER', `no user ${req.user}`);
    if (!user.roles.includes('responder')) throw new GatehouseError('GH_ERR_FORBIDDEN', `${req.user} does not hold the responder role`);
    validateIncident(req.incident);
    validateReason(req.reason);
    if (req.targets.length === 0) throw new GatehouseError('GH_ERR_BAD_INPUT', 'at least one target is required');
    const targets = [...new Set(req.targets)].map((name) => {
      const t = this.targets.get(name);
      if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TARGET', `no target ${JSON.stringify(name)} in the inventory`);
      return t;
    });
    const template = this.pickTemplate(req.template, targets);
    if (!Number.isSafeInteger(req.durationMs) || req.durationMs <= 0) throw new GatehouseError('GH_ERR_BAD_DURATION', 'the duration must be positive');
    if (req.durationMs > template.maxDurationMs) {
      throw new GatehouseError('GH_ERR_DURATION_CAP', `template ${template.name} allows at most ${fmt(template.maxDurationMs)}, asked for ${fmt(req.durationMs)}`);
    }
    if (req.breakGlass) throw new GatehouseError('GH_ERR_BREAK_GLASS', 'break-glass is not enabled on this broker');

    const now = this.d.clock.now();
    let grant: Grant = {
      id: newId('g'),
      user: req.user,
      targets: targets.map((t) => t.name),
      incident: req.incident,
      template: template.name,
      reason: req.reason.trim(),
      durationMs: req.durationMs,
      breakGlass: false,
      state: 'pending',
      requestedAt: now,
      requestedBy: caller,
      approvals: [],
      approvedAt: null,
      expiresAt: null,
      endedAt: null,
      endReason: null,
      endedBy: null,
      reviewRequired: false,
      version: 1,
    };
    const ctx = this.ctx(grant, caller, source);
    const events: EventDraft[] = [{ type: 'grant.requested', ctx, data: { targets: [...grant.targets], template: template.name, durationMs: grant.durationMs, reason: grant.reason, breakGlass: false } }];
    if (template.approvals === 0) {
      grant = { ...grant, state: 'active', approvedAt: now, expiresAt: now + grant.durationMs };
      events.push({ type: 'grant.activated', ctx, data: { expiresAt: iso(grant.expiresAt), approvers: [] } });
    }
    await this.d.events.commit({ grants: [{ grant, expectVersion: null }], events });
    return grant;
  }

  /**
   * One approval. A TOTP code, when given, is verified and burnt before the approval is recorded
   * (and the approval is marked `mfa`); a wrong or replayed code refuses the approval.
   */
  async approve(caller: string, id: string, opts: { totp?: string } = {}, source?: string): Promise<Grant> {
    let mfa = false;
    if (opts.totp !== undefined) {
      const approver = this.d.directory.get(caller);
      try {
        if (approver === undefined) throw new GatehouseError('GH_ERR_FORBIDDEN', `no user ${caller}`);
        await verifyTotpOnce(this.d.store, approver, opts.totp, this.d.clock.now());
      } catch (err) {
        const g = await this.d.store.getGrant(id);
        if (g && err instanceof GatehouseError) await this.d.events.emit({ type: 'grant.approval_refused', ctx: this.ctx(g, caller, source), data: { error: err.code, message: err.message } });
        throw err;
      }
      mfa = true;
    }
    return this.mutate(id, caller, source, (g, now) => {
      this.require(caller, ['approver']);
      if (g.state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is ${effectiveState(g, now)}, not pending`);
      if (this.d.directory.samePerson(caller, g.user) || this.d.directory.samePerson(caller, g.requestedBy)) {
        throw new GatehouseError('GH_ERR_SELF_APPROVAL', `${caller} cannot approve grant ${g.id}: it is their own request`);
      }
      const valid = validApprovals(g);
      if (valid.some((a) => this.d.directory.samePerson(a.by, caller))) {
        throw new GatehouseError('GH_ERR_DUPLICATE_APPROVAL', `${caller} has already approved grant ${g.id}`);
      }
      const template = this.templateOf(g);
      const approvals = [...valid, { by: caller, at: now, contentHash: grantContentHash(g), mfa }];
      const needed = Math.max(1, template.approvals);
      const ctx = this.ctx(g, caller, source);
      const events: EventDraft[] = [{ type: 'grant.approved', ctx, data: { approvals: approvals.length, needed, mfa } }];
      let next: Grant = { ...g, approvals };
      if (approvals.length >= needed) {
        next = { ...next, state: 'active', approvedAt: now, expiresAt: now + g.durationMs };
        events.push({ type: 'grant.activated', ctx, data: { expiresAt: iso(next.expiresAt), approvers: approvals.map((a) => a.by) } });
      }
      return { next, events };
    });
  }

  async deny(caller: string, id: string, reason: string, source?: string): Promise<Grant> {
    validateReason(reason);
    return this.mutate(id, caller, source, (g, now) => {
      this.require(caller, ['approver', 'admin']);
      if (g.state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is ${effectiveState(g, now)}, not pending`);
      if (this.d.directory.samePerson(caller, g.user)) throw new GatehouseError('GH_ERR_SELF_APPROVAL', `${caller} cannot decide on their own request; revoke it instead`);
      const next: Grant = { ...g, state: 'denied', endedAt: now, endReason: reason.trim(), endedBy: caller };
      return { next, events: [{ type: 'grant.denied', ctx: this.ctx(g, caller, source), data: { reason: reason.trim() } }] };
    });
  }

  async revoke(caller: string, id: string, reason: string, source?: string): Promise<Grant> {
    validateReason(reason);
    return this.mutate(id, caller, source, (g, now) => {
      const own = this.d.directory.samePerson(caller, g.user);
      if (!own) this.require(caller, ['approver', 'watcher', 'admin']);
      const state = effectiveState(g, now);
      if (state !== 'active' && state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is already ${state}`);
      const next: Grant = { ...g, state: 'revoked', endedAt: now, endReason: reason.trim(), endedBy: caller };
      return { next, events: [{ type: 'grant.revoked', ctx: this.ctx(g, caller, source), data: { reason: reason.trim() } }] };
    });
  }

  /** Marks an active grant expired once its deadline has passed (the expiry timer calls this). */
  async expire(id: string): Promise<Grant | undefined> {
    try {
      return await this.mutate(id, 'gatehouse', undefined, (g, now) => {
        if (g.state !== 'active' || g.expiresAt === null || now < g.expiresAt) throw new GatehouseError('GH_ERR_GRANT_STATE', 'not due');
        const next: Grant = { ...g, state: 'expired', endedAt: g.expiresAt, endReason: 'expired', endedBy: null };
        return { next, events: [{ type: 'grant.expired', ctx: this.ctx(g, null, undefined), data: { expiresAt: iso(g.expiresAt) } }] };
      });
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'GH_ERR_GRANT_STATE') return undefined;
      throw err;
    }
  }

  /** The grant that lets `user` onto `target` now, or a one-line refusal naming why. */
  async resolveForSession(user: string, target: string, grantId?: string): Promise<Coverage> {
    const grants = await this.d.store.listGrants({ user, limit: 200 });
    return findCoveringGrant(grants, user, target, this.d.clock.now(), grantId);
  }

  private async mutate(id: string, caller: string, source: string | undefined, change: (g: Grant, now: number) => { next: Grant; events: EventDraft[] }): Promise<Grant> {
    for (let attempt = 0; ; attempt++) {
      const g = await this.d.store.getGrant(id);
      if (g === undefined || (caller !== 'gatehouse' && !this.canSee(caller, g))) throw new GatehouseError('GH_ERR_GRANT_NOT_FOUND', `no grant ${id}`);
      let result: { next: Grant; events: EventDraft[] };
      try {
        result = change(g, this.d.clock.now());
      } catch (err) {
        if (err instanceof GatehouseError && caller !== 'gatehouse' && ['GH_ERR_SELF_APPROVAL', 'GH_ERR_DUPLICATE_APPROVAL', 'GH_ERR_FORBIDDEN', 'GH_ERR_MFA_INVALID', 'GH_ERR_MFA_REQUIRED'].includes(err.code)) {
          await this.d.events.emit({ type: 'grant.approval_refused', ctx: this.ctx(g, caller, source), data: { error: err.code, message: err.message } });
        }
        throw err;
      }
      const next = { ...result.next, version: g.version + 1 };
      try {
        await this.d.events.commit({ grants: [{ grant: next, expectVersion: g.version }], events: result.events });
        return next;
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'GH_ERR_CONFLICT' && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  private pickTemplate(name: string | undefined, targets: readonly Target[]): Template {
    if (name !== undefined) {
      const t = this.templates.get(name);
      if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `no template ${JSON.stringify(name)}`);
      const outside = targets.filter((x) => !templateCovers(t, x));
      if (outside.length > 0) throw new GatehouseError('GH_ERR_TARGET_SCOPE', `template ${t.name} does not cover ${outside.map((x) => x.name).join(', ')}`);
      return t;
    }
    const t = [...this.templates.values()].find((tpl) => targets.every((x) => templateCovers(tpl, x)));
    if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `no template covers ${targets.map((x) => x.name).join(', ')}; name one with --template`);
    return t;
  }

  private templateOf(g: Grant): Template {
    const t = this.templates.get(g.template);
    if (t === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_TEMPLATE', `grant ${g.id} names template ${g.template}, which is no longer configured`);
    return t;
  }

  private require(caller: string, roles: readonly Role[]): void {
    if (!roles.some((r) => this.d.directory.hasRole(caller, r))) {
      throw new GatehouseError('GH_ERR_FORBIDDEN', `${caller} needs one of the roles: ${roles.join(', ')}`);
    }
  }

  private canSee(caller: string, g: Grant): boolean {
    if (caller === 'gatehouse' || this.d.directory.samePerson(caller, g.user) || caller === g.requestedBy) return true;
    return (['approver', 'watcher', 'auditor', 'admin'] as const).some((r) => this.d.directory.hasRole(caller, r));
  }

  private ctx(g: Grant, actor: string | null, source: string | undefined): EventContext {
    return { actor, user: g.user, grantId: g.id, incident: g.incident, target: g.targets.join(','), source: source ?? null };
  }
}

const iso = (ms: number | null): string => new Date(ms ?? 0).toISOString();
const fmt = formatDuration;
