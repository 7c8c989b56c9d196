/**
 * Who may do what with sessions and recordings, for every edge (the web UI and its WebSocket, the
 * gRPC API): watchers and admins watch live sessions and kill them, auditors and admins replay.
 */
import type { Role, User } from '../domain/types.js';

/** What a web user may do; every route names one. */
export type Permission = 'live' | 'kill' | 'replay';

export const PERMISSIONS: Readonly<Record<Permission, readonly Role[]>> = {
  live: ['watcher', 'admin'],
  kill: ['watcher', 'admin'],
  replay: ['auditor', 'admin'],
};

export const WEB_ROLES: readonly Role[] = ['watcher', 'auditor', 'admin'];

export function can(user: User, p: Permission): boolean {
  return PERMISSIONS[p].some((r) => user.roles.includes(r));
}
