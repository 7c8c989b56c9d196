/** The API's handlers: validate (zod), authorise, call a service, convert to the wire shape. */
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { GatehouseError } from '../../domain/errors.js';
import type { Role, Session } from '../../domain/types.js';
import type { EventLog } from '../../events/log.js';
import type { Directory } from '../../grants/directory.js';
import type { GrantService } from '../../grants/service.js';
import type { Store } from '../../store/ports.js';
import { KILLERS, killSession } from '../kill.js';
import { grantToWire, sessionToWire } from './convert.js';
import { createAuditHandlers, type AuditDeps } from './handlers-audit.js';
import { recordingHandlers, type RecordingApiDeps } from './handlers-recordings.js';
import { reportHandlers } from './handlers-report.js';
import { durationField, parseRequest, type CallContext, type StreamHandler, type UnaryHandler } from './context.js';

export interface ApiDeps {
  readonly directory: Directory;
  readonly grants: GrantService;
  readonly store: Store;
  readonly events: EventLog;
  readonly clock: Clock;
  /** Audit and SIEM RPCs (handlers-audit.ts); absent in tests that build the API without them. */
  readonly audit?: AuditDeps;
  /** Recording and live-view RPCs (handlers-recordings.ts); absent in tests that build the API without them. */
  readonly recordings?: RecordingApiDeps;
}

const id = z.string().min(1).max(64);
const text = (max: number) => z.string().max(max);

const requestGrant = z.object({
  user: z.string().min(1).max(32),
  targets: z.array(z.string().min(1).max(64)).min(1).max(50),
  incident: text(64),
  duration: durationField,
  reason: text(1_000),
  template: text(64),
  breakGlass: z.boolean(),
});

export function requireRole(ctx: CallContext, roles: readonly Role[]): void {
  if (!roles.some((r) => ctx.user.roles.includes(r))) {
    throw new GatehouseError('GH_ERR_FORBIDDEN', `${ctx.user.name} needs one of the roles: ${roles.join(', ')}`);
  }
}

const OVERSEERS: readonly Role[] = ['approver', 'watcher', 'auditor', 'admin'];

export function createHandlers(d: ApiDeps): { unary: Record<string, UnaryHandler>; stream: Record<string, StreamHandler> } {
  const wire = (g: Parameters<typeof grantToWire>[0]) => grantToWire(g, d.grants.template(g.template), d.clock.now());
  const canSeeSession = (ctx: CallContext, s: Session): boolean => s.user === ctx.user.name || OVERSEERS.some((r) => ctx.user.roles.includes(r));

  const unary: Record<string, UnaryHandler> = {
    whoAmI: async (ctx) => ({ user: ctx.user.name, roles: ctx.user.roles }),

    requestGrant: async (ctx, req) => {
      const r = parseRequest(requestGrant, req);
      const g = await d.grants.request(
        ctx.user.name,
        { user: r.user, targets: r.targets, incident: r.incident, durationMs: r.duration, reason: r.reason, template: r.template || undefined, breakGlass: r.breakGlass },
        ctx.source,
      );
      return wire(g);
    },

    approveGrant: async (ctx, req) => {
      const r = parseRequest(z.object({ id, totp: text(16) }), req);
      return wire(await d.grants.approve(ctx.user.name, r.id, { ...(r.totp !== '' && { totp: r.totp }) }, ctx.source));
    },

    denyGrant: async (ctx, req) => {
      const r = parseRequest(z.object({ id, reason: text(1_000) }), req);
      return wire(await d.grants.deny(ctx.user.name, r.id, r.reason, ctx.source));
    },

    revokeGrant: async (ctx, req) => {
      const r = parseRequest(z.object({ id, reason: text(1_000) }), req);
      return wire(await d.grants.revoke(ctx.user.name, r.id, r.reason, ctx.source));
    },

    updateGrant: async (ctx, req) => {
      const r = parseRequest(z.object({ id, targets: z.array(z.string().min(1).max(64)).max(50), duration: z.union([z.literal(''), durationField]), reason: text(1_000) }), req);
      const change = { ...(r.targets.length > 0 && { targets: r.targets }), ...(r.duration !== '' && { durationMs: r.duration }), ...(r.reason !== '' && { reason: r.reason }) };
      return wire(await d.grants.update(ctx.user.name, r.id, change, ctx.source));
    },

    reviewGrant: async (ctx, req) => {
      const r = parseRequest(z.object({ id, notes: text(2_000) }), req);
      return wire(await d.grants.review(ctx.user.name, r.id, r.notes, ctx.source));
    },

    getGrant: async (ctx, req) => wire(await d.grants.get(ctx.user.name, parseRequest(z.object({ id }), req).id)),

    listGrants: async (ctx, req) => {
      const r = parseRequest(z.object({ active: z.boolean(), incident: text(64), user: text(32) }), req);
      const grants = await d.grants.list(ctx.user.name, { active: r.active, ...(r.incident && { incident: r.incident }), ...(r.user && { user: r.user }) });
      return { grants: grants.map(wire) };
    },

    listSessions: async (ctx, req) => {
      const r = parseRequest(z.object({ live: z.boolean(), incident: text(64), grantId: text(64), user: text(32) }), req);
      const sessions = await d.store.listSessions({ ...(r.live && { live: true }), ...(r.incident && { incident: r.incident }), ...(r.grantId && { grantId: r.grantId }), ...(r.user && { user: r.user }) });
      return { sessions: sessions.filter((s) => canSeeSession(ctx, s)).map(sessionToWire) };
    },

    getSession: async (ctx, req) => {
      const s = await d.store.getSession(parseRequest(z.object({ id }), req).id);
      if (s === undefined || !canSeeSession(ctx, s)) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', 'no such session');
      return sessionToWire(s);
    },

    killSession: async (ctx, req) => {
      requireRole(ctx, KILLERS);
      const r = parseRequest(z.object({ id, reason: text(1_000) }), req);
      return sessionToWire(await killSession(d, ctx, r.id, r.reason));
    },

    decideCommand: async (ctx, req) => {
      requireRole(ctx, ['watcher', 'admin']);
      const r = parseRequest(z.object({ sessionId: id, approve: z.boolean(), note: text(1_000) }), req);
      // An exec command is held before its session starts (the target has seen nothing yet), so
      // the session may have no row: the review event itself says whose session it is.
      const held = await d.store.readEvents(0, 10_000, { sessionId: r.sessionId, types: ['command.review', 'command.reviewed'] });
      const row = await d.store.getSession(r.sessionId);
      const s = row ?? held.find((e) => e.type === 'command.review');
      if (s === undefined || s.user === null) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', `no session ${r.sessionId}`);
      if (d.directory.samePerson(ctx.user.name, s.user)) throw new GatehouseError('GH_ERR_SELF_APPROVAL', 'you cannot review commands in your own session');
      const decided = new Set(held.filter((e) => e.type === 'command.reviewed').map((e) => String(e.data.reviewId)));
      const pending = held.filter((e) => e.type === 'command.review' && !decided.has(String(e.data.reviewId))).at(-1);
      if (pending === undefined) throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${r.sessionId} has no command waiting for review`);
      const outcome = r.approve ? 'approved' : 'rejected';
      await d.events.emit({
        type: 'command.reviewed',
        ctx: { actor: ctx.user.name, user: s.user, target: s.target, grantId: s.grantId, incident: s.incident, sessionId: r.sessionId, source: ctx.source },
        data: { reviewId: String(pending.data.reviewId), command: String(pending.data.command), outcome, by: ctx.user.name, note: r.note.trim() || null },
      });
      return { reviewId: pending.data.reviewId, sessionId: r.sessionId, command: pending.data.command, outcome, by: ctx.user.name };
    },
  };
  const audit = d.audit ? createAuditHandlers({ ...d, audit: d.audit }) : { unary: {}, stream: {} };
  const rec = d.recordings ? recordingHandlers(d.recordings) : { unary: {}, stream: {} };
  return { unary: { ...unary, ...audit.unary, ...rec.unary, ...reportHandlers(d) }, stream: { ...audit.stream, ...rec.stream } };
}
