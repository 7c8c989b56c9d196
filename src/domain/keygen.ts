/**
 * Ed25519 key pairs in OpenSSH's formats, from Node's crypto. (ssh2's generateKeyPairSync writes
 * an unparseable private key for about 1 in 250 ed25519 keys — neither ssh2 nor ssh-keygen can
 * load it — so keys are serialised here, per PROTOCOL.key in OpenSSH.)
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export interface OpenSshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----..." (unencrypted). */
  readonly private: string;
  /** "ssh-ed25519 AAAA... comment" */
  readonly public: string;
}

export function generateEd25519(comment = ''): OpenSshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwkPriv = privateKey.export({ format: 'jwk' });
  const jwkPub = publicKey.export({ format: 'jwk' });
  const seed = Buffer.from(String(jwkPriv.d), 'base64url');
  const pub = Buffer.from(String(jwkPub.x), 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE();
  let priv = Buffer.concat([u32(check), u32(check), sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), u32(1), sshString(pubBlob), sshString(priv)]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').replace(/\n$/, '');
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${pubBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}
