/**
 * Killing a live session, the one code path behind `gatehouse sessions kill` (gRPC KillSession)
 * and the web UI's Kill button: the watcher or admin role, a reason, a session that is still live,
 * then `session.killed` — which the watchdog of whichever broker holds the session acts on (across
 * brokers through the store's feed).
 */
import { GatehouseError } from '../domain/errors.js';
import type { Role, Session, User } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { Store } from '../store/ports.js';

export const KILLERS: readonly Role[] = ['watcher', 'admin'];

export interface KillDeps {
  readonly store: Store;
  readonly events: EventLog;
}

export async function killSession(d: KillDeps, by: { readonly user: User; readonly source: string }, id: string, reason: string): Promise<Session> {
  if (!KILLERS.some((r) => by.user.roles.includes(r))) {
    throw new GatehouseError('GH_ERR_FORBIDDEN', `${by.user.name} needs one of the roles: ${KILLERS.join(', ')}`);
  }
  const why = reason.trim();
  if (why === '') throw new GatehouseError('GH_ERR_BAD_INPUT', 'a reason is required to kill a session');
  const s = await d.store.getSession(id);
  if (s === undefined) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', `no session ${id}`);
  if (s.state !== 'live') throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${id} already ended (${s.endReason ?? 'unknown'})`);
  await d.events.emit({
    type: 'session.killed',
    ctx: { actor: by.user.name, user: s.user, target: s.target, grantId: s.grantId, incident: s.incident, sessionId: s.id, source: by.source },
    data: { reason: why },
  });
  return s;
}
