/**
 * Who is who: users by name, by SSH key and by API token, and which names are the same person.
 * Separation of duties compares identities, not names: two user entries that share a key, a token
 * or a TOTP secret are one person, so a second name for the same key cannot approve its own grant.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role, User } from '../domain/types.js';
import { totpSecretId } from './mfa.js';

/**
 * The identity of a public key: its base64 blob (which embeds the key type). Comparing blobs rather
 * than "type blob" lines matters for RSA, whose signature algorithm name (rsa-sha2-512) differs
 * from its key type (ssh-rsa).
 */
export function keyId(line: string): string {
  const parts = line.trim().split(/\s+/);
  return parts.length >= 2 ? (parts[1] as string) : (parts[0] ?? '');
}

export class Directory {
  private byName = new Map<string, User>();
  private identity = new Map<string, string>();
  private byKey = new Map<string, User[]>();
  private tokens: { user: User; hash: Buffer }[] = [];

  constructor(users: readonly User[]) {
    this.replace(users);
  }

  /**
   * The users from now on (a configuration reload): every later lookup — SSH keys, API tokens,
   * roles, groups, TOTP — sees the new list at once. Built aside and swapped in one step.
   */
  replace(users: readonly User[]): void {
    const next = new Directory.Index(users);
    this.byName = next.byName;
    this.identity = next.identity;
    this.byKey = next.byKey;
    this.tokens = next.tokens;
  }

  private static Index = class {
    readonly byName = new Map<string, User>();
    readonly identity = new Map<string, string>();
    readonly byKey = new Map<string, User[]>();
    readonly tokens: { user: User; hash: Buffer }[] = [];

    constructor(users: readonly User[]) {
      for (const u of users) this.byName.set(u.name, u);
      // Union-find over shared credentials.
      const parent = new Map<string, string>(users.map((u) => [u.name, u.name]));
      const find = (n: string): string => {
        let r = n;
        while (parent.get(r) !== r) r = parent.get(r) as string;
        parent.set(n, r);
        return r;
      };
      const claim = new Map<string, string>();
      const link = (credential: string, name: string): void => {
        const other = claim.get(credential);
        if (other === undefined) claim.set(credential, name);
        else parent.set(find(name), find(other));
      };
      for (const u of users) {
        for (const k of u.keys) {
          const id = keyId(k);
          link(`key:${id}`, u.name);
          const list = this.byKey.get(id) ?? [];
          list.push(u);
          this.byKey.set(id, list);
        }
        if (u.apiTokenSha256 !== undefined) {
          link(`token:${u.apiTokenSha256}`, u.name);
          this.tokens.push({ user: u, hash: Buffer.from(u.apiTokenSha256, 'hex') });
        }
        if (u.totp !== undefined) link(`totp:${totpSecretId(u.totp)}`, u.name);
      }
      for (const u of users) this.identity.set(u.name, find(u.name));
    }
  };

  get(name: string): User | undefined {
    return this.byName.get(name);
  }

  all(): User[] {
    return [...this.byName.values()];
  }

  hasRole(name: string, role: Role): boolean {
    return this.byName.get(name)?.roles.includes(role) ?? false;
  }

  /** True when the two names are the same person (same name, or a shared key/token/TOTP secret). */
  samePerson(a: string, b: string): boolean {
    if (a === b) return true;
    const ia = this.identity.get(a);
    return ia !== undefined && ia === this.identity.get(b);
  }

  /** The user's configured key line whose blob is `blob` (base64), if any. */
  userKey(name: string, blob: string): string | undefined {
    if (!this.byKey.get(blob)?.some((u) => u.name === name)) return undefined;
    return this.byName.get(name)?.keys.find((k) => keyId(k) === blob);
  }

  /**
   * The user an API token belongs to. Every stored hash is compared, in constant time, whatever
   * matches first, so timing tells nothing about which user or how many prefix bytes matched.
   */
  userByToken(token: string): User | undefined {
    if (token.length === 0 || token.length > 512) return undefined;
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: User | undefined;
    for (const t of this.tokens) {
      if (timingSafeEqual(presented, t.hash) && found === undefined) found = t.user;
    }
    return found;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
