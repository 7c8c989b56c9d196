import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { User } from '../../src/domain/types.js';
import { Directory, keyId, sha256Hex } from '../../src/grants/directory.js';

const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const KEY_C = 'AAAAC3NzaC1lZDI1NTE5AAAAICccccccccccccccccccccccccccccccccccccccccccc';
const RSA = 'AAAAB3NzaC1yc2EAAAADAQABAAABAQDrsarsarsarsa';
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DP';

function user(name: string, extra: Partial<User> = {}): User {
  return { name, roles: ['responder'], keys: [], groups: [], ...extra };
}

const USERS: User[] = [
  user('alice', { keys: [`ssh-ed25519 ${KEY_A} alice@laptop`], apiTokenSha256: sha256Hex('tok-alice') }),
  user('alice-admin', { roles: ['approver', 'admin'], keys: [`ssh-ed25519 ${KEY_A} a different comment`] }),
  user('alice-bot', { roles: ['approver'], apiTokenSha256: sha256Hex('tok-alice') }),
  user('bob', { roles: ['approver'], keys: [`ssh-ed25519 ${KEY_B}`], totp: TOTP }),
  user('bob-2fa', { roles: ['approver'], totp: TOTP }),
  user('carol', { roles: ['approver', 'watcher'], keys: [`ssh-ed25519 ${KEY_C}`, `ssh-rsa ${RSA} carol@rsa`], apiTokenSha256: sha256Hex('tok-carol') }),
  user('dave', { roles: ['watcher'] }),
];

describe('Directory.samePerson', () => {
  const d = new Directory(USERS);

  it.each([
    ['alice', 'alice', true, 'same name'],
    ['alice', 'alice-admin', true, 'shared SSH key (comments differ)'],
    ['alice-admin', 'alice', true, 'symmetric'],
    ['alice', 'alice-bot', true, 'shared API token'],
    ['alice-admin', 'alice-bot', true, 'transitively, through alice'],
    ['bob', 'bob-2fa', true, 'shared TOTP secret'],
    ['alice', 'bob', false, 'nothing shared'],
    ['carol', 'dave', false, 'nothing shared'],
    ['dave', 'ghost', false, 'unknown name'],
    ['ghost', 'phantom', false, 'two unknown names'],
  ])('%s ~ %s is %s (%s)', (a, b, same) => {
    expect(d.samePerson(a, b)).toBe(same);
  });

  it('does not merge users who share nothing but a role or an empty credential list', () => {
    const d2 = new Directory([user('x'), user('y'), user('z', { roles: ['approver'] })]);
    expect(d2.samePerson('x', 'y')).toBe(false);
    expect(d2.samePerson('y', 'z')).toBe(false);
  });
});

describe('Directory lookups', () => {
  const d = new Directory(USERS);

  it('get, all and hasRole', () => {
    expect(d.get('carol')?.roles).toEqual(['approver', 'watcher']);
    expect(d.get('ghost')).toBeUndefined();
    expect(d.all().map((u) => u.name)).toEqual(USERS.map((u) => u.name));
    expect(d.hasRole('carol', 'watcher')).toBe(true);
    expect(d.hasRole('carol', 'admin')).toBe(false);
    expect(d.hasRole('ghost', 'admin')).toBe(false);
  });

  it('userByToken finds the owner of a token by its SHA-256', () => {
    expect(d.userByToken('tok-carol')?.name).toBe('carol');
    // Two entries share alice's token: the first configured one answers.
    expect(d.userByToken('tok-alice')?.name).toBe('alice');
    expect(d.userByToken('tok-carol ')).toBeUndefined();
    expect(d.userByToken('TOK-CAROL')).toBeUndefined();
    expect(d.userByToken('')).toBeUndefined();
    expect(d.userByToken('x'.repeat(513))).toBeUndefined();
    expect(d.userByToken(createHash('sha256').update('tok-carol').digest('hex'))).toBeUndefined(); // the hash is not the token
  });

  it('userKey returns the configured line for a blob the user owns, and nothing for another user', () => {
    expect(d.userKey('alice', KEY_A)).toBe(`ssh-ed25519 ${KEY_A} alice@laptop`);
    expect(d.userKey('alice-admin', KEY_A)).toBe(`ssh-ed25519 ${KEY_A} a different comment`);
    expect(d.userKey('carol', RSA)).toBe(`ssh-rsa ${RSA} carol@rsa`);
    expect(d.userKey('bob', KEY_A)).toBeUndefined();
    expect(d.userKey('alice', KEY_B)).toBeUndefined();
    expect(d.userKey('ghost', KEY_A)).toBeUndefined();
    expect(d.userKey('alice', `ssh-ed25519 ${KEY_A}`)).toBeUndefined(); // a whole line is not a blob
  });
});

describe('keyId and sha256Hex', () => {
  it('keyId is the base64 blob whatever the type name and comment', () => {
    expect(keyId(`ssh-ed25519 ${KEY_A} c`)).toBe(KEY_A);
    expect(keyId(`  ssh-rsa   ${RSA}   `)).toBe(RSA);
    expect(keyId(KEY_B)).toBe(KEY_B);
    expect(keyId('')).toBe('');
  });

  it('sha256Hex is lower-case hex of the UTF-8 bytes', () => {
    expect(sha256Hex('test')).toBe('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
    expect(sha256Hex('é')).toBe(createHash('sha256').update(Buffer.from([0xc3, 0xa9])).digest('hex'));
  });
});

describe('Directory.replace (a configuration reload)', () => {
  it('swaps every index at once: names, keys, tokens and identities', () => {
    const d = new Directory(USERS);
    expect(d.samePerson('alice', 'alice-admin')).toBe(true);
    d.replace([user('alice', { keys: [`ssh-ed25519 ${KEY_A}`] }), user('erin', { roles: ['approver'], keys: [`ssh-ed25519 ${KEY_B}`], apiTokenSha256: sha256Hex('tok-erin') })]);
    expect(d.get('alice-admin')).toBeUndefined();
    expect(d.get('bob')).toBeUndefined();
    expect(d.all().map((u) => u.name)).toEqual(['alice', 'erin']);
    expect(d.userByToken('tok-alice')).toBeUndefined();
    expect(d.userByToken('tok-erin')?.name).toBe('erin');
    expect(d.samePerson('alice', 'erin')).toBe(false);
    expect(d.hasRole('erin', 'approver')).toBe(true);
  });
});
