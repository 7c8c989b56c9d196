/**
 * TOTP (RFC 6238) with otpauth: SHA-1, 6 digits, 30 s steps, one step of drift either way. A code
 * is accepted once per secret: the time step it matched is recorded in the store (`useOnce`) under
 * the secret's identity, not the user's name, so replaying a code — even within its 30 s, even
 * under another user entry that shares the secret (an alias) — is refused.
 */
import { createHash } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { GatehouseError } from '../domain/errors.js';
import type { User } from '../domain/types.js';
import type { Store } from '../store/ports.js';

const PERIOD = 30;

/**
 * A stable identity for a base32 secret: SHA-256 of its normalised text (upper case, no padding),
 * so the store and the directory never hold the secret itself, and `abc…=` and `ABC…` are one secret.
 */
export function totpSecretId(secret: string): string {
  return createHash('sha256').update(secret.toUpperCase().replace(/=+$/, ''), 'utf8').digest('hex');
}

export function totpFor(user: User): TOTP | undefined {
  if (user.totp === undefined) return undefined;
  return new TOTP({ issuer: 'Gatehouse', label: user.name, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(user.totp) });
}

/** The time step a code matches, or null. Pure (time is an argument). */
export function matchTotp(user: User, code: string, now: number): number | null {
  const totp = totpFor(user);
  if (totp === undefined || !/^\d{6}$/.test(code)) return null;
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

/** Verifies a code and burns its time step. Throws GH_ERR_MFA_INVALID / GH_ERR_MFA_REQUIRED. */
export async function verifyTotpOnce(store: Store, user: User, code: string | undefined, now: number): Promise<void> {
  if (user.totp === undefined) throw new GatehouseError('GH_ERR_MFA_REQUIRED', `${user.name} has no TOTP enrolled`);
  if (code === undefined || code === '') throw new GatehouseError('GH_ERR_MFA_REQUIRED', 'a TOTP code is required: pass --totp CODE');
  const step = matchTotp(user, code, now);
  if (step === null) throw new GatehouseError('GH_ERR_MFA_INVALID', 'the TOTP code is wrong or expired');
  if (!(await store.useOnce(`totp:${totpSecretId(user.totp)}`, String(step), now))) {
    throw new GatehouseError('GH_ERR_MFA_INVALID', 'this TOTP code was already used; wait for the next one');
  }
}
