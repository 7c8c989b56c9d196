/**
 * Authentication of one inbound connection: the user name must parse as a route
 * (USER:TARGET[:GRANT]), the public key must be one the directory holds for USER, and when the
 * grant's template asks for MFA at session start a one-time code (keyboard-interactive) must follow.
 * Its own state machine (name, key, code) that is done once the connection is authenticated, so it
 * lives apart from connection.ts, which turns channels into sessions and forwards after that.
 */
import type { AuthContext } from 'ssh2';
import ssh2 from 'ssh2';

import type { ErrorCode, GatehouseError } from '../domain/errors.js';
import { keyId } from '../grants/directory.js';
import type { Coverage } from '../grants/rules.js';
import type { ConnectionContext } from './connection.js';
import type { GatewayServices } from './services.js';
import { parseRoute, sanitizeForLog, type Route } from './username.js';

const { utils } = ssh2;

const MAX_MFA_ATTEMPTS = 3;

export class Authenticator {
  private firstName: string | null = null;
  private keyVerified = false;
  /** The grant whose template asked for a TOTP at session start, while the prompt is pending. */
  private mfaGrant: string | null = null;
  private mfaAttempts = 0;
  private refusedRouteLogged = false;

  constructor(
    private readonly conn: ConnectionContext,
    private readonly svc: GatewayServices,
    /** The connection's route resolved to a grant (or why it is not covered). */
    private readonly resolve: () => Promise<Coverage>,
  ) {}

  async authenticate(ctx: AuthContext): Promise<void> {
    if (this.firstName === null) this.firstName = ctx.username;
    else if (ctx.username !== this.firstName) return ctx.reject([]); // no switching names mid-connection
    if (this.conn.route === null) {
      const parsed = parseRoute(ctx.username);
      if (!parsed.ok) return this.refuseRoute(ctx, parsed.reason);
      this.conn.route = parsed.route;
    }
    const route = this.conn.route;
    if (ctx.method === 'keyboard-interactive' && this.keyVerified && this.mfaGrant !== null) return this.promptTotp(ctx, this.mfaGrant);
    if (ctx.method !== 'publickey') return ctx.reject(this.keyVerified && this.mfaGrant !== null ? ['keyboard-interactive'] : ['publickey']);
    const user = this.svc.directory.get(route.user);
    const blob = ctx.key.data.toString('base64');
    const line = user && this.svc.directory.userKey(user.name, blob);
    if (!user || !line) {
      if (ctx.signature !== undefined || !user) this.refusedOnce('GH_ERR_UNAUTHENTICATED', `public key not accepted for ${route.user}`);
      return ctx.reject(['publickey']);
    }
    if (ctx.signature === undefined) return ctx.accept(); // the client is asking whether this key would do
    const parsed = utils.parseKey(line);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key === undefined || key instanceof Error || keyId(line) !== blob || key.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) !== true) {
      this.refusedOnce('GH_ERR_UNAUTHENTICATED', `bad signature for ${route.user}`);
      return ctx.reject(['publickey']);
    }
    this.keyVerified = true;
    // MFA at session start: when the grant's template asks, the key alone is a partial success
    // and the client must also answer a TOTP prompt (keyboard-interactive).
    const cov = await this.resolve();
    if (cov.ok && this.svc.grants.template(cov.grant.template)?.mfa.session) {
      this.mfaGrant = cov.grant.id;
      return ctx.reject(['keyboard-interactive'], true);
    }
    this.succeed(ctx);
  }

  private succeed(ctx: AuthContext): void {
    this.conn.authenticated = true;
    this.svc.onAuthenticated(this.conn);
    ctx.accept();
  }

  private promptTotp(ctx: AuthContext, grantId: string): void {
    const route = this.conn.route as Route;
    if (++this.mfaAttempts > MAX_MFA_ATTEMPTS) {
      this.conn.refused('GH_ERR_MFA_INVALID', `too many wrong one-time codes for ${route.user}`, grantId);
      return ctx.reject([]);
    }
    if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
    ctx.prompt([{ prompt: 'One-time code: ', echo: false }], 'Gatehouse', `Grant ${grantId} requires a one-time code (TOTP) to open a session on ${route.target}.`, (answers) => {
      const code = (answers[0] ?? '').trim();
      this.svc.grants.verifySessionMfa(route.user, code).then(
        () => this.succeed(ctx),
        (err: unknown) => {
          this.conn.refused((err as GatehouseError).code ?? 'GH_ERR_MFA_INVALID', `session MFA failed for ${route.user}: ${(err as Error).message}`, grantId);
          try {
            ctx.reject(['keyboard-interactive']);
          } catch {
            // client gone
          }
        },
      );
    });
  }

  authFailed(ctx: AuthContext, err: unknown): void {
    this.conn.log.error({ err }, 'authentication handler failed');
    try {
      ctx.reject([]);
    } catch {
      // connection gone
    }
  }

  /** A name that is not USER:TARGET: refuse every method, and tell a keyboard-interactive client why. */
  private refuseRoute(ctx: AuthContext, reason: string): void {
    if (!this.refusedRouteLogged) {
      this.refusedRouteLogged = true;
      this.conn.refused('GH_ERR_BAD_USERNAME', `${reason} (got "${sanitizeForLog(ctx.username)}")`);
    }
    if (ctx.method === 'keyboard-interactive') {
      ctx.prompt([], 'Gatehouse', `Refused: ${reason}. Connect as USER:TARGET, e.g. ssh alice:web-1@gatehouse`, () => ctx.reject([]));
      return;
    }
    ctx.reject(['publickey', 'keyboard-interactive']);
  }

  private refusedOnce(code: ErrorCode, message: string): void {
    if (this.refusedRouteLogged) return;
    this.refusedRouteLogged = true;
    this.conn.refused(code, message);
  }
}
