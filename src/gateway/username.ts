/**
 * The SSH user name carries the route: `USER:TARGET[:GRANT]`, or `USER+TARGET[+GRANT]` for clients
 * that dislike ':'. Pure and strict: anything else is refused with a reason that is safe to print
 * (never echoing raw bytes back: the name may hold escape sequences or invalid UTF-8).
 */
export interface Route {
  readonly user: string;
  readonly target: string;
  readonly grantId: string | undefined;
}

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/;
const TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const GRANT = /^g-[0-9a-hjkmnp-tv-z]{21}$/;
export const MAX_USERNAME = 160;

export type RouteResult = { readonly ok: true; readonly route: Route } | { readonly ok: false; readonly reason: string };

export function parseRoute(name: string): RouteResult {
  if (name.length === 0) return bad('empty user name');
  if (name.length > MAX_USERNAME) return bad(`user name longer than ${MAX_USERNAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(name)) return bad('user name contains control, space or non-ASCII characters');
  const sep = name.includes(':') ? ':' : name.includes('+') ? '+' : null;
  if (sep === null) return bad('user name has no target: use USER:TARGET (or USER+TARGET)');
  const parts = name.split(sep);
  if (parts.length > 3) return bad('too many parts: use USER:TARGET[:GRANT]');
  const [user = '', target = '', grant] = parts;
  if (!USER.test(user)) return bad(user === '' ? 'missing user before the separator' : 'malformed user part');
  if (!TARGET.test(target)) return bad(target === '' ? 'missing target after the separator' : 'malformed target part');
  if (grant !== undefined && !GRANT.test(grant)) return bad('malformed grant id (expected g-...)');
  return { ok: true, route: { user, target, grantId: grant } };
}

function bad(reason: string): RouteResult {
  return { ok: false, reason };
}

/** A printable, bounded rendering of an untrusted name for logs and events. */
export function sanitizeForLog(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0').slice(-2)}`);
  return clean.length > max ? `${clean.slice(0, max)}...(${text.length} chars)` : clean;
}
