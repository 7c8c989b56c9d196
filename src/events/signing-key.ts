/**
 * The broker's Ed25519 key for audit checkpoints, and the public keys verification trusts. The
 * private key is PKCS#8 PEM (default dataDir/audit_ed25519.pem), generated once with mode 0600;
 * its public half is written beside it as `*.pub.pem` for auditors and the SIEM.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { GatehouseError } from '../domain/errors.js';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Base64 of the DER SubjectPublicKeyInfo: the `publicKey` field of every checkpoint. */
  readonly publicKeyB64: string;
  /** PEM (SPKI) of the public key, as written next to the private key. */
  readonly publicKeyPem: string;
  /** `SHA256:` + unpadded base64 of SHA-256(DER SPKI), like an OpenSSH fingerprint. */
  readonly keyId: string;
}

export function encodePublicKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

export function keyIdOf(publicKeyB64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Public keys from text: one or more PEM blocks (`-----BEGIN PUBLIC KEY-----`), or bare base64
 * SPKI strings one per line (the `publicKey` field of a checkpoint). Only Ed25519 keys are accepted.
 */
export function parsePublicKeys(text: string): KeyObject[] {
  const pems = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g);
  const keys = pems
    ? pems.map((p) => createPublicKey(p))
    : text
        .split(/\s+/)
        .filter((l) => l !== '')
        .map((b64) => createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' }));
  for (const k of keys) if (k.asymmetricKeyType !== 'ed25519') throw new GatehouseError('GH_ERR_BAD_INPUT', `expected an Ed25519 public key, got ${k.asymmetricKeyType ?? 'unknown'}`);
  if (keys.length === 0) throw new GatehouseError('GH_ERR_BAD_INPUT', 'no public key found (expected PEM "BEGIN PUBLIC KEY" or base64 SPKI)');
  return keys;
}

/** `audit_ed25519.pem` → `audit_ed25519.pub.pem`. */
export function publicKeyPath(privatePath: string): string {
  return privatePath.replace(/(\.pem)?$/, '.pub.pem');
}

function toSigningKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new GatehouseError('GH_ERR_CONFIG', `the audit signing key must be Ed25519, not ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  const publicKey = createPublicKey(privateKey);
  const publicKeyB64 = encodePublicKey(publicKey);
  return { privateKey, publicKey, publicKeyB64, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), keyId: keyIdOf(publicKeyB64) };
}

/**
 * Loads the PKCS#8 PEM signing key at `path`, generating it (mode 0600, in a 0700 directory) the
 * first time. The public half is (re)written next to it as `*.pub.pem` (0644) for auditors.
 */
export async function loadOrCreateSigningKey(path: string, log?: Logger): Promise<SigningKey> {
  let pem: string | undefined;
  try {
    pem = await readFile(path, 'utf8');
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) log?.warn({ path, mode: mode.toString(8) }, 'the audit signing key is readable by other users; chmod 600 it');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new GatehouseError('GH_ERR_CONFIG', `cannot read the audit signing key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (pem === undefined) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      await writeFile(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600, flag: 'wx' });
      log?.info({ path }, 'generated the audit signing key');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    pem = await readFile(path, 'utf8'); // whoever won the race
  }
  let key: SigningKey;
  try {
    key = toSigningKey(createPrivateKey(pem));
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    throw new GatehouseError('GH_ERR_CONFIG', `the audit signing key ${path} is not a PEM private key: ${(err as Error).message}`);
  }
  const pubPath = publicKeyPath(path);
  const current = await readFile(pubPath, 'utf8').catch(() => null);
  if (current !== key.publicKeyPem) await writeFile(pubPath, key.publicKeyPem, { mode: 0o644 });
  return key;
}

/** The public keys in these PEM files (audit.trustedKeys). */
export async function loadTrustedKeys(files: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (err) {
      throw new GatehouseError('GH_ERR_CONFIG', `audit.trustedKeys: cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      keys.push(...parsePublicKeys(text));
    } catch (err) {
      throw new GatehouseError('GH_ERR_CONFIG', `audit.trustedKeys: ${f}: ${(err as Error).message}`);
    }
  }
  return keys;
}
