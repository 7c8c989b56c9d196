/**
 * A stand-in for KMS GenerateDataKey/Decrypt, shared by the test client (as its DataKeyProvider)
 * and the simulated agent. The "CiphertextBlob" is the data key sealed with AES-256-GCM under a
 * per-simulator master key, with the key id and encryption context as AAD: decrypting with another
 * context fails, as with real KMS.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKey, DataKeyProvider, DataKeyRequest } from '../kms.js';

function aad(keyId: string, context: Readonly<Record<string, string>>): Buffer {
  const sorted = Object.keys(context).sort().map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify([keyId, sorted]), 'utf8');
}

export class FakeKms implements DataKeyProvider {
  /** Key ids this KMS knows; GenerateDataKey with any other fails (NotFoundException). */
  readonly keyIds: Set<string>;
  /** Every GenerateDataKey request, for tests to inspect the encryption context. */
  readonly requests: DataKeyRequest[] = [];
  private readonly master = randomBytes(32);

  constructor(keyIds: Iterable<string> = []) {
    this.keyIds = new Set(keyIds);
  }

  async generateDataKey(request: DataKeyRequest): Promise<DataKey> {
    this.requests.push(request);
    if (!this.keyIds.has(request.keyId)) throw Object.assign(new Error(`Key '${request.keyId}' does not exist`), { name: 'NotFoundException' });
    const plaintext = randomBytes(request.numberOfBytes);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv);
    cipher.setAAD(aad(request.keyId, request.encryptionContext));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const blob = Buffer.concat([Buffer.from(request.keyId + '\n', 'utf8'), iv, body, cipher.getAuthTag()]);
    return { plaintext, ciphertextBlob: blob };
  }

  /** kms:Decrypt with an encryption context; throws InvalidCiphertextException on any mismatch. */
  decrypt(blob: Uint8Array, context: Readonly<Record<string, string>>): Buffer {
    const buf = Buffer.from(blob);
    const nl = buf.indexOf(0x0a);
    try {
      if (nl < 0 || buf.length < nl + 1 + 12 + 16) throw new Error('short');
      const keyId = buf.toString('utf8', 0, nl);
      const iv = buf.subarray(nl + 1, nl + 13);
      const decipher = createDecipheriv('aes-256-gcm', this.master, iv);
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(buf.subarray(buf.length - 16));
      return Buffer.concat([decipher.update(buf.subarray(nl + 13, buf.length - 16)), decipher.final()]);
    } catch {
      throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
    }
  }
}
