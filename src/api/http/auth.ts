/**
 * Web sign-in (docs/web.md "Sign-in"). Two ways in, one session cookie out:
 *
 *   - a one-time link from `gatehouse web login` (gRPC CreateWebLogin): `<web>/login#link=TOKEN`,
 *     where TOKEN is HMAC-signed {user, expiry, nonce}, valid for `web.loginLinkTtl` (2 min) and
 *     usable once (the nonce goes through store.useOnce, so a replay is refused on every broker
 *     sharing the store). The token rides in the URL fragment, which browsers never send to a
 *     server or put in a Referer; the login page posts it.
 *   - the user's API token, typed into the login page (the same token the CLI uses; the broker
 *     keeps only its SHA-256).
 *
 * The cookie is HMAC-SHA256-signed {user, issued, expiry} with a key kept in `dataDir/web.key`
 * (created 0600 on first start; brokers behind one address need the same file). HttpOnly,
 * SameSite=Strict, Path=/, and Secure with the `__Host-` prefix when the UI is served over https.
 * Every request re-reads the user from the configuration: a user removed from it, or whose roles
 * changed, is refused or limited at once. Cookies cannot be revoked one by one before they expire;
 * replacing web.key signs everyone out.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../../domain/clock.js';
import { GatehouseError } from '../../domain/errors.js';
import type { User } from '../../domain/types.js';
import type { Directory } from '../../grants/directory.js';
import type { Store } from '../../store/ports.js';
import { can, PERMISSIONS, WEB_ROLES, type Permission } from '../permissions.js';

export { can, PERMISSIONS, WEB_ROLES, type Permission } from '../permissions.js';

export interface WebAuthOptions {
  readonly sessionTtlMs: number;
  readonly linkTtlMs: number;
  /** Served over https: Secure cookies with the __Host- prefix. */
  readonly secure: boolean;
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export class WebAuth {
  readonly cookieName: string;

  private constructor(
    private readonly key: Buffer,
    private readonly directory: Directory,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly opts: WebAuthOptions,
  ) {
    this.cookieName = opts.secure ? '__Host-gatehouse' : 'gatehouse';
  }

  static async open(dataDir: string, directory: Directory, store: Store, clock: Clock, opts: WebAuthOptions): Promise<WebAuth> {
    const path = join(dataDir, 'web.key');
    let key = await readFile(path).catch(() => null);
    if (key === null || key.length < 32) {
      key = randomBytes(32);
      await writeFile(path, key, { mode: 0o600, flag: 'w' });
    }
    return new WebAuth(key, directory, store, clock, opts);
  }

  /** A one-time sign-in token for `user` (the caller of `gatehouse web login`). */
  createLink(user: User): { token: string; expiresAt: number } {
    if (!WEB_ROLES.some((r) => user.roles.includes(r))) throw forbiddenUi(user);
    const expiresAt = this.clock.now() + this.opts.linkTtlMs;
    const payload = b64(JSON.stringify({ u: user.name, e: expiresAt, n: randomBytes(16).toString('base64url') }));
    return { token: `${payload}.${this.mac('link', payload)}`, expiresAt };
  }

  /** Checks and spends a link token. */
  async redeemLink(token: string): Promise<User> {
    const p = this.verify('link', token) as { u?: unknown; e?: unknown; n?: unknown } | null;
    if (p === null || typeof p.u !== 'string' || typeof p.e !== 'number' || typeof p.n !== 'string') throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'the sign-in link is not valid');
    const now = this.clock.now();
    if (now > p.e) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'the sign-in link has expired; run gatehouse web login again');
    if (!(await this.store.useOnce('web-login', p.n, now))) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'the sign-in link was already used; run gatehouse web login again');
    return this.webUser(p.u);
  }

  /** Signs in with an API token. */
  withToken(token: string): User {
    const user = this.directory.userByToken(token);
    if (user === undefined) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'the token is not valid');
    return this.webUser(user.name);
  }

  /** `Set-Cookie` value for a fresh session. */
  sessionCookie(user: User): string {
    const now = this.clock.now();
    const payload = b64(JSON.stringify({ u: user.name, i: now, e: now + this.opts.sessionTtlMs }));
    const value = `${payload}.${this.mac('session', payload)}`;
    return `${this.cookieName}=${value}; ${this.attributes()}; Max-Age=${Math.floor(this.opts.sessionTtlMs / 1000)}`;
  }

  clearCookie(): string {
    return `${this.cookieName}=; ${this.attributes()}; Max-Age=0`;
  }

  /** The signed-in user of a request, or undefined. */
  user(req: IncomingMessage): User | undefined {
    const value = readCookie(req.headers.cookie, this.cookieName);
    if (value === undefined) return undefined;
    const p = this.verify('session', value) as { u?: unknown; e?: unknown } | null;
    if (p === null || typeof p.u !== 'string' || typeof p.e !== 'number' || this.clock.now() > p.e) return undefined;
    const user = this.directory.get(p.u);
    return user !== undefined && WEB_ROLES.some((r) => user.roles.includes(r)) ? user : undefined;
  }

  /** The signed-in user, holding `permission` if one is named. Throws 401 / 403. */
  require(req: IncomingMessage, permission?: Permission): User {
    const user = this.user(req);
    if (user === undefined) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'sign in first');
    if (permission !== undefined && !can(user, permission)) {
      throw new GatehouseError('GH_ERR_FORBIDDEN', `${user.name} needs one of the roles: ${PERMISSIONS[permission].join(', ')}`);
    }
    return user;
  }

  private webUser(name: string): User {
    const user = this.directory.get(name);
    if (user === undefined) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'no such user');
    if (!WEB_ROLES.some((r) => user.roles.includes(r))) throw forbiddenUi(user);
    return user;
  }

  private attributes(): string {
    return `Path=/; HttpOnly; SameSite=Strict${this.opts.secure ? '; Secure' : ''}`;
  }

  private mac(purpose: string, payload: string): string {
    return createHmac('sha256', this.key).update(`${purpose}:${payload}`).digest('base64url');
  }

  private verify(purpose: string, token: string): unknown {
    if (token.length > 2048) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.mac(purpose, payload), 'base64url');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }
}

function forbiddenUi(user: User): GatehouseError {
  return new GatehouseError('GH_ERR_FORBIDDEN', `${user.name} has no web role: the web UI is for ${WEB_ROLES.join(', ')}`);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
