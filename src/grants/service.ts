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
import type { Grant, Role, Target, Template, User } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { EventContext, EventDraft } from '../events/types.js';
import type { GrantFilter, Store } from '../store/ports.js';
import type { Directory } from './directory.js';
import { verifyTotpOnce } from './mfa.js';
import { adds, describeMissing, filled, slotsOf, type Slot } from './approvals.js';
import { buildRequest, checkDuration, resolveTargets, type GrantRequest, type RequestContext } from './request.js';
import type { TicketProvider } from './tickets.js';
import { effectiveState, findCoveringGrant, grantContentHash, validateReason, validApprovals, type Coverage } from './rules.js';
import { templateCovers } from './targets.js';

export type { GrantRequest } from './request.js';

export interface GrantServiceDeps {
  readonly store: Store;
  readonly events: EventLog;
  readonly directory: Directory;
  readonly targets: readonly Target[];
  readonly templates: readonly Template[];
  readonly clock: Clock;
  readonly log: Logger;
  /** Validates incident ids at request time; absent means any well-formed id is accepted. */
  readonly tickets?: TicketProvider;
}

const MAX_CONFLICT_RETRIES = 5;

export class GrantService {
  private readonly targets: Map<string, Target>;
  private readonly templates: Map<string, Template>;

  private readonly rc: RequestContext;

  constructor(private readonly d: GrantServiceDeps) {
    this.targets = new Map(d.targets.map((t) => [t.name, t]));
    this.templates = new Map(d.templates.map((t) => [t.name, t]));
    this.rc = { directory: d.directory, targets: this.targets, templates: this.templates };
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
    const { grant, events } = buildRequest(this.rc, caller, req, this.d.clock.now(), source ?? null);
    await this.d.tickets?.checkOpen(grant.incident);
    await this.d.events.commit({ grants: [{ grant, expectVersion: null }], events });
    return grant;
  }

  /**
   * The requester changes a pending grant (targets, duration, reason). Approvals already given
   * were bound to the old content and stop counting: the new content needs its own approvals.
   */
  async update(caller: string, id: string, change: { targets?: readonly string[]; durationMs?: number; reason?: string }, source?: string): Promise<Grant> {
    return this.mutate(id, caller, source, (g, now) => {
      if (!this.d.directory.samePerson(caller, g.requestedBy) && !this.d.directory.samePerson(caller, g.user)) throw new GatehouseError('GH_ERR_FORBIDDEN', `only the requester may change grant ${g.id}`);
      if (g.state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is ${effectiveState(g, now)}; only a pending request can change`);
      const targets = change.targets ? resolveTargets(this.rc, change.targets) : resolveTargets(this.rc, g.targets);
      const template = this.templateOf(g);
      const outside = targets.filter((t) => !templateCovers(template, t));
      if (outside.length > 0) throw new GatehouseError('GH_ERR_TARGET_SCOPE', `template ${template.name} does not cover ${outside.map((t) => t.name).join(', ')}`);
      const durationMs = change.durationMs ?? g.durationMs;
      checkDuration(template, durationMs, false);
      if (change.reason !== undefined) validateReason(change.reason);
      const next: Grant = { ...g, targets: targets.map((t) => t.name), durationMs, reason: change.reason?.trim() ?? g.reason };
      const voided = g.approvals.length - validApprovals(next).length;
      return { next, events: [{ type: 'grant.updated', ctx: this.ctx(next, caller, source), data: { targets: [...next.targets], durationMs, reason: next.reason, approvalsVoided: voided } }] };
    });
  }

  /** An approver records the review a break-glass grant requires. */
  async review(caller: string, id: string, notes: string, source?: string): Promise<Grant> {
    validateReason(notes);
    return this.mutate(id, caller, source, (g) => {
      this.require(caller, ['approver', 'admin']);
      if (!g.reviewRequired) throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} needs no review`);
      if (this.d.directory.samePerson(caller, g.user) || this.d.directory.samePerson(caller, g.requestedBy)) throw new GatehouseError('GH_ERR_SELF_APPROVAL', `${caller} cannot review their own break-glass access`);
      return { next: { ...g, reviewRequired: false }, events: [{ type: 'grant.reviewed', ctx: this.ctx(g, caller, source), data: { notes: notes.trim() } }] };
    });
  }

  /**
   * One approval. The approver's authority is checked first (role, state, own request, duplicate,
   * a slot left to fill), and only then is a TOTP code verified and burnt, so a refused approval
   * never wastes a code. The same checks run again on the grant as committed (mutate), where a
   * template asking for MFA refuses an approval that came without a verified code (fail closed).
   */
  async approve(caller: string, id: string, opts: { totp?: string } = {}, source?: string): Promise<Grant> {
    const pre = await this.d.store.getGrant(id);
    let mfa = false;
    if (pre !== undefined && (opts.totp !== undefined || this.template(pre.template)?.mfa.approve) && this.wouldAccept(pre, caller)) {
      try {
        await verifyTotpOnce(this.d.store, this.d.directory.get(caller) as User, opts.totp, this.d.clock.now());
      } catch (err) {
        if (err instanceof GatehouseError) await this.d.events.emit({ type: 'grant.approval_refused', ctx: this.ctx(pre, caller, source), data: { error: err.code, message: err.message } });
        throw err;
      }
      mfa = true;
    }
    return this.mutate(id, caller, source, (g, now) => {
      this.require(caller, ['approver']);
      const template = this.templateOf(g);
      if (g.state === 'pending' && now >= g.requestedAt + template.requestTtlMs) {
        // A request left too long expires; it cannot be revived by a late approval.
        const next: Grant = { ...g, state: 'expired', endedAt: now, endReason: 'request expired before approval', endedBy: null };
        return {
          next,
          events: [{ type: 'grant.expired', ctx: this.ctx(g, null, source), data: { expiresAt: iso(g.requestedAt + template.requestTtlMs) } }],
          error: new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} expired before approval (requests live ${formatDuration(template.requestTtlMs)})`),
        };
      }
      const { valid, slots, current, me } = this.checkApprover(g, caller, template, now);
      // Reached without a code only if the grant changed since the pre-check (e.g. approvals voided).
      if (template.mfa.approve && !mfa) throw new GatehouseError('GH_ERR_MFA_REQUIRED', 'a TOTP code is required: pass --totp CODE');
      const approvals = [...valid, { by: caller, at: now, contentHash: grantContentHash(g), mfa }];
      const ctx = this.ctx(g, caller, source);
      const events: EventDraft[] = [{ type: 'grant.approved', ctx, data: { approvals: approvals.length, needed: slots.length, mfa } }];
      let next: Grant = { ...g, approvals };
      if (filled(slots, [...current, me]) >= slots.length) {
        next = { ...next, state: 'active', approvedAt: now, expiresAt: now + g.durationMs };
        events.push({ type: 'grant.activated', ctx, data: { expiresAt: iso(next.expiresAt), approvers: approvals.map((a) => a.by) } });
      }
      return { next, events };
    }, true);
  }

  /** Every approval rule but MFA and request expiry; throws the refusal. */
  private checkApprover(g: Grant, caller: string, template: Template, now: number): { valid: Grant['approvals']; slots: Slot[]; current: User[]; me: User } {
    if (g.state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is ${effectiveState(g, now)}, not pending`);
    if (this.d.directory.samePerson(caller, g.user) || this.d.directory.samePerson(caller, g.requestedBy)) {
      throw new GatehouseError('GH_ERR_SELF_APPROVAL', `${caller} cannot approve grant ${g.id}: it is their own request`);
    }
    const valid = validApprovals(g);
    if (valid.some((a) => this.d.directory.samePerson(a.by, caller))) {
      throw new GatehouseError('GH_ERR_DUPLICATE_APPROVAL', `${caller} has already approved grant ${g.id}`);
    }
    const slots = slotsOf(template.approvers);
    const current = valid.map((a) => this.d.directory.get(a.by)).filter((u): u is User => u !== undefined);
    const me = this.d.directory.get(caller) as User;
    if (!adds(slots, current, me)) {
      throw new GatehouseError('GH_ERR_FORBIDDEN', `${caller} fills none of the approvals grant ${g.id} still needs (${describeMissing(slots, current)})`);
    }
    return { valid, slots, current, me };
  }

  /** Would `caller`'s approval of `g` (as read now) pass every rule but MFA? Then a code may be spent on it. */
  private wouldAccept(g: Grant, caller: string): boolean {
    const [now, template] = [this.d.clock.now(), this.templates.get(g.template)];
    if (!this.canSee(caller, g) || template === undefined || now >= g.requestedAt + template.requestTtlMs) return false;
    try {
      this.require(caller, ['approver']);
      return this.checkApprover(g, caller, template, now) !== undefined;
    } catch {
      return false;
    }
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
      // `gatehouse` is the broker itself: anomaly revocations, resolved incidents.
      if (!own && caller !== 'gatehouse') this.require(caller, ['approver', 'watcher', 'admin']);
      const state = effectiveState(g, now);
      if (state !== 'active' && state !== 'pending') throw new GatehouseError('GH_ERR_GRANT_STATE', `grant ${g.id} is already ${state}`);
      const next: Grant = { ...g, state: 'revoked', endedAt: now, endReason: reason.trim(), endedBy: caller };
      return { next, events: [{ type: 'grant.revoked', ctx: this.ctx(g, caller, source), data: { reason: reason.trim() } }] };
    });
  }

  /**
   * The broker flags a grant for a human's review (an anomaly it killed or revoked for), in one
   * commit with the events that say why. Any state: the review is about what already happened.
   */
  async flagForReview(id: string, events: readonly EventDraft[]): Promise<Grant> {
    return this.mutate(id, 'gatehouse', undefined, (g) => ({ next: { ...g, reviewRequired: true }, events: [...events] }));
  }

  /**
   * Marks a grant expired once its deadline has passed (the expiry timer calls this): an active
   * grant at expiresAt, a pending request at requestedAt + the template's requestTtl.
   */
  async expire(id: string): Promise<Grant | undefined> {
    try {
      return await this.mutate(id, 'gatehouse', undefined, (g, now) => {
        const ttl = this.templates.get(g.template)?.requestTtlMs ?? Infinity;
        const deadline = g.state === 'active' ? g.expiresAt : g.state === 'pending' ? g.requestedAt + ttl : null;
        if (deadline === null || now < deadline) throw new GatehouseError('GH_ERR_GRANT_STATE', 'not due');
        const next: Grant = { ...g, state: 'expired', endedAt: deadline, endReason: g.state === 'pending' ? 'request expired before approval' : 'expired', endedBy: null };
        return { next, events: [{ type: 'grant.expired', ctx: this.ctx(g, null, undefined), data: { expiresAt: iso(deadline) } }] };
      });
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'GH_ERR_GRANT_STATE') return undefined;
      throw err;
    }
  }

  /** Verifies a TOTP code at session start (keyboard-interactive) and burns it. */
  async verifySessionMfa(user: string, code: string): Promise<void> {
    const u = this.d.directory.get(user);
    if (u === undefined) throw new GatehouseError('GH_ERR_UNKNOWN_USER', `no user ${user}`);
    await verifyTotpOnce(this.d.store, u, code, this.d.clock.now());
  }

  /** The grant that lets `user` onto `target` now, or a one-line refusal naming why. */
  async resolveForSession(user: string, target: string, grantId?: string): Promise<Coverage> {
    const grants = await this.d.store.listGrants({ user, limit: 200 });
    return findCoveringGrant(grants, user, target, this.d.clock.now(), grantId);
  }

  private async mutate(
    id: string,
    caller: string,
    source: string | undefined,
    change: (g: Grant, now: number) => { next: Grant; events: EventDraft[]; error?: GatehouseError },
    approval = false,
  ): Promise<Grant> {
    for (let attempt = 0; ; attempt++) {
      const g = await this.d.store.getGrant(id);
      if (g === undefined || (caller !== 'gatehouse' && !this.canSee(caller, g))) throw new GatehouseError('GH_ERR_GRANT_NOT_FOUND', `no grant ${id}`);
      let result: { next: Grant; events: EventDraft[]; error?: GatehouseError };
      try {
        result = change(g, this.d.clock.now());
      } catch (err) {
        if (approval && err instanceof GatehouseError) {
          await this.d.events.emit({ type: 'grant.approval_refused', ctx: this.ctx(g, caller, source), data: { error: err.code, message: err.message } });
        }
        throw err;
      }
      const next = { ...result.next, version: g.version + 1 };
      try {
        await this.d.events.commit({ grants: [{ grant: next, expectVersion: g.version }], events: result.events });
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'GH_ERR_CONFLICT' && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
      if (result.error) throw result.error;
      return next;
    }
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
