/**
 * KMS session encryption (spec §11): the data key, its split, and AES-256-GCM framing.
 *
 * The data key comes from a `DataKeyProvider`, so the handshake never depends on an AWS SDK for
 * KMS: tests and the simulator inject a fake, production wires the real GenerateDataKey (see
 * `kmsClientDataKeyProvider`; the AWS SDK adapter is in kms-aws.ts).
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { GatehouseError } from '../../domain/errors.js';

export const DATA_KEY_BYTES = 64;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface DataKeyRequest {
  /** KMSKeyId from the agent's HandshakeRequest (an ARN or key id). */
  readonly keyId: string;
  /** {"aws:ssm:SessionId", "aws:ssm:TargetId"} — the agent decrypts with the same context. */
  readonly encryptionContext: Readonly<Record<string, string>>;
  /** Always 64. */
  readonly numberOfBytes: number;
  /** The target's region, for a provider that keeps one KMS client per region. */
  readonly region: string;
}

export interface DataKey {
  /** 64 bytes: [0:32] the agent's encryption key, [32:64] the client's. */
  readonly plaintext: Uint8Array;
  /** KMS CiphertextBlob, sent to the agent base64-encoded as KMSCipherTextKey. */
  readonly ciphertextBlob: Uint8Array;
}

/** Where the handshake gets its data key: kms:GenerateDataKey, or a fake in tests. */
export interface DataKeyProvider {
  generateDataKey(request: DataKeyRequest): Promise<DataKey>;
}

/** The shape of a KMS GenerateDataKey call, as @aws-sdk/client-kms takes and returns it. */
export type GenerateDataKeyCall = (input: {
  KeyId: string;
  NumberOfBytes: number;
  EncryptionContext: Record<string, string>;
}, region: string) => Promise<{ Plaintext?: Uint8Array | undefined; CiphertextBlob?: Uint8Array | undefined }>;

/**
 * Adapts a real GenerateDataKey call. With @aws-sdk/client-kms installed this is:
 *   kmsClientDataKeyProvider((input, region) => kmsFor(region).send(new GenerateDataKeyCommand(input)))
 */
export function kmsClientDataKeyProvider(call: GenerateDataKeyCall): DataKeyProvider {
  return {
    async generateDataKey(request) {
      const out = await call(
        { KeyId: request.keyId, NumberOfBytes: request.numberOfBytes, EncryptionContext: { ...request.encryptionContext } },
        request.region,
      );
      if (out.Plaintext === undefined || out.CiphertextBlob === undefined) {
        throw new GatehouseError('GH_ERR_SSM', 'KMS GenerateDataKey returned no key material');
      }
      return { plaintext: out.Plaintext, ciphertextBlob: out.CiphertextBlob };
    },
  };
}

/** A nonce per message: random for the client ([P]), a counter for the agent ([A]). */
export type NonceSource = (into: Buffer) => void;

export const randomNonces: NonceSource = (into) => {
  randomFillSync(into);
};

export function counterNonces(): NonceSource {
  let counter = 0n;
  return (into) => {
    into.fill(0);
    into.writeBigUInt64BE(counter++, NONCE_BYTES - 8);
  };
}

export interface SplitKeys {
  readonly encryptKey: Buffer;
  readonly decryptKey: Buffer;
}

/**
 * The 64-byte data key split ([P] encrypter.go, [A] blockcipher.go): bytes [0:32] are the agent's
 * encryption key (the client's decryption key), bytes [32:64] the client's encryption key.
 */
export function splitDataKey(plaintext: Uint8Array, side: 'client' | 'agent'): SplitKeys {
  if (plaintext.length !== DATA_KEY_BYTES) {
    throw new GatehouseError('GH_ERR_SSM', `KMS data key must be ${DATA_KEY_BYTES} bytes, got ${plaintext.length}`);
  }
  const agentKey = Buffer.from(plaintext.subarray(0, KEY_BYTES));
  const clientKey = Buffer.from(plaintext.subarray(KEY_BYTES, DATA_KEY_BYTES));
  return side === 'client' ? { encryptKey: clientKey, decryptKey: agentKey } : { encryptKey: agentKey, decryptKey: clientKey };
}

/** AES-256-GCM, 12-byte nonce, no AAD; wire form nonce || ciphertext || tag (spec §11.4). */
export class BlockCipher {
  private readonly keys: SplitKeys;
  private readonly nonces: NonceSource;

  constructor(keys: SplitKeys, nonces: NonceSource = randomNonces) {
    this.keys = keys;
    this.nonces = nonces;
  }

  encrypt(plaintext: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(NONCE_BYTES + plaintext.length + TAG_BYTES);
    const nonce = out.subarray(0, NONCE_BYTES);
    this.nonces(nonce);
    const cipher = createCipheriv('aes-256-gcm', this.keys.encryptKey, nonce);
    const body = cipher.update(plaintext);
    body.copy(out, NONCE_BYTES);
    const tail = cipher.final();
    tail.copy(out, NONCE_BYTES + body.length);
    cipher.getAuthTag().copy(out, NONCE_BYTES + plaintext.length);
    return out;
  }

  /** Throws GH_ERR_SSM_PROTOCOL when the frame is short or fails authentication. */
  decrypt(wire: Uint8Array): Buffer {
    if (wire.length < NONCE_BYTES + TAG_BYTES) throw new GatehouseError('GH_ERR_SSM_PROTOCOL', 'encrypted payload too short');
    const nonce = wire.subarray(0, NONCE_BYTES);
    const tag = wire.subarray(wire.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.keys.decryptKey, nonce);
    decipher.setAuthTag(tag);
    try {
      const body = decipher.update(wire.subarray(NONCE_BYTES, wire.length - TAG_BYTES));
      const tail = decipher.final();
      return tail.length === 0 ? body : Buffer.concat([body, tail]);
    } catch (err) {
      throw new GatehouseError('GH_ERR_SSM_PROTOCOL', 'encrypted payload failed authentication', undefined, { cause: err });
    }
  }
}
