import { describe, expect, it } from 'vitest';
import { answerEncChallenge, answerHandshakeRequest, parseHandshakeComplete } from '../../../src/connectors/ssm/handshake.js';
import { BlockCipher, counterNonces, kmsClientDataKeyProvider, splitDataKey, type DataKeyProvider, type NonceSource } from '../../../src/connectors/ssm/kms.js';
import { AgentHandshake } from '../../../src/connectors/ssm/simulator/agent-handshake.js';
import { FakeKms } from '../../../src/connectors/ssm/simulator/fake-kms.js';
import { isGatehouseError } from '../../../src/domain/errors.js';
import { KMS } from './vectors.js';

const fixedNonce: NonceSource = (into) => {
  Buffer.from(KMS.nonce, 'hex').copy(into);
};

describe('KMS data key and AES-GCM (spec vectors)', () => {
  const client = new BlockCipher(splitDataKey(KMS.dataKey, 'client'), fixedNonce);
  const agent = new BlockCipher(splitDataKey(KMS.dataKey, 'agent'), fixedNonce);

  it('splits the 64-byte key: the client encrypts with [32:64] and decrypts with [0:32]', () => {
    const keys = splitDataKey(KMS.dataKey, 'client');
    expect(keys.encryptKey.equals(KMS.dataKey.subarray(32))).toBe(true);
    expect(keys.decryptKey.equals(KMS.dataKey.subarray(0, 32))).toBe(true);
    const agentKeys = splitDataKey(KMS.dataKey, 'agent');
    expect(agentKeys.encryptKey.equals(keys.decryptKey)).toBe(true);
  });

  it('client → agent "ls\\r" encrypts to the vector, and the agent decrypts it', () => {
    const wire = client.encrypt(Buffer.from('ls\r'));
    expect(wire.toString('hex')).toBe(KMS.clientToAgentLs);
    expect(agent.decrypt(wire).toString()).toBe('ls\r');
  });

  it('agent → client prompt encrypts to the vector, and the client decrypts it', () => {
    expect(agent.encrypt(Buffer.from('sh-4.2$ ')).toString('hex')).toBe(KMS.agentToClientPrompt);
    expect(client.decrypt(Buffer.from(KMS.agentToClientPrompt, 'hex')).toString()).toBe('sh-4.2$ ');
  });

  it('answers the vector EncChallengeRequest with the same 64 bytes re-encrypted under the client key', () => {
    const response = JSON.parse(answerEncChallenge(Buffer.from(KMS.encChallengeRequest), client).toString()) as { Challenge: string };
    const plain = agent.decrypt(Buffer.from(response.Challenge, 'base64'));
    expect(plain.toString('hex')).toBe(Buffer.from(Array.from({ length: 64 }, (_, i) => 0x64 + i)).toString('hex'));
    expect(response.Challenge).toBe('AAECAwQFBgcICQoLODc7wCJcgYfQlKepVgIsT2cFnxMSaNxqWHCtxTsASRuoW5S6k5bObmb2dHdcWrgippx7acLKbR46oJI2hRzBDOambzI/n5seDKrGeuJ7Pd8=');
  });

  it('rejects a tampered or truncated ciphertext with GH_ERR_SSM_PROTOCOL', () => {
    const wire = Buffer.from(KMS.clientToAgentLs, 'hex');
    wire[13] = (wire[13] ?? 0) ^ 1;
    for (const bad of [wire, Buffer.alloc(10)]) {
      let caught: unknown;
      try {
        agent.decrypt(bad);
      } catch (err) {
        caught = err;
      }
      expect(isGatehouseError(caught, 'GH_ERR_SSM_PROTOCOL')).toBe(true);
    }
  });

  it('counter nonces never repeat', () => {
    const next = counterNonces();
    const a = Buffer.alloc(12);
    const b = Buffer.alloc(12);
    next(a);
    next(b);
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a data key of the wrong size', () => {
    expect(() => splitDataKey(Buffer.alloc(32), 'client')).toThrow(/64 bytes/);
  });
});

const CONTEXT = { sessionId: 'user-0123456789abcdef0', targetId: 'i-0123456789abcdef0', region: 'eu-west-1' };

function request(actions: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ AgentVersion: '3.3.987.0', RequestedClientActions: actions }));
}

const SESSION_TYPE = { ActionType: 'SessionType', ActionParameters: { SessionType: 'Standard_Stream', Properties: null } };
const KMS_ACTION = { ActionType: 'KMSEncryption', ActionParameters: { KMSKeyId: 'arn:aws:kms:eu-west-1:1:key/k', Challenge: 'Y2hhbGxlbmdl' } };

describe('handshake: client answers', () => {
  it('answers a plain SessionType request exactly as V8', async () => {
    const out = await answerHandshakeRequest(request([SESSION_TYPE]), { ...CONTEXT, dataKeyProvider: undefined });
    expect(out.response.toString()).toBe('{"ClientVersion":"1.2.650.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}');
    expect(out.sessionType).toBe('Standard_Stream');
    expect(out.cipher).toBeNull();
    expect(out.error).toBeNull();
  });

  it('asks the provider for a 64-byte key under the session context and sends the blob base64', async () => {
    const calls: unknown[] = [];
    const provider: DataKeyProvider = {
      async generateDataKey(req) {
        calls.push(req);
        return { plaintext: KMS.dataKey, ciphertextBlob: Buffer.from('blob') };
      },
    };
    const out = await answerHandshakeRequest(request([SESSION_TYPE, KMS_ACTION]), { ...CONTEXT, dataKeyProvider: provider });
    expect(calls).toEqual([{
      keyId: 'arn:aws:kms:eu-west-1:1:key/k', numberOfBytes: 64, region: 'eu-west-1',
      encryptionContext: { 'aws:ssm:SessionId': CONTEXT.sessionId, 'aws:ssm:TargetId': CONTEXT.targetId },
    }]);
    expect(out.response.toString()).toBe(
      '{"ClientVersion":"1.2.650.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""},' +
        '{"ActionType":"KMSEncryption","ActionStatus":1,"ActionResult":{"KMSCipherTextKey":"YmxvYg==","KMSCipherTextHash":null},"Error":""}],"Errors":null}',
    );
    expect(out.cipher).not.toBeNull();
  });

  it('binds the random challenge into the context when acknowledging it', async () => {
    const calls: Array<{ encryptionContext: Record<string, string> }> = [];
    const provider: DataKeyProvider = {
      async generateDataKey(req) {
        calls.push({ encryptionContext: { ...req.encryptionContext } });
        return { plaintext: KMS.dataKey, ciphertextBlob: Buffer.from('blob') };
      },
    };
    const out = await answerHandshakeRequest(request([SESSION_TYPE, KMS_ACTION]), { ...CONTEXT, dataKeyProvider: provider, acknowledgeChallenge: true });
    expect(calls[0]?.encryptionContext['aws:ssm:RandomChallenge']).toBe('Y2hhbGxlbmdl');
    expect(out.response.toString()).toContain('"ChallengeAcknowledgement":true');
  });

  it('reports Failed (not a crash) without a provider or when KMS fails, and Unsupported for unknown actions', async () => {
    const none = await answerHandshakeRequest(request([SESSION_TYPE, KMS_ACTION]), { ...CONTEXT, dataKeyProvider: undefined });
    const parsed = JSON.parse(none.response.toString()) as { ProcessedClientActions: Array<{ ActionStatus: number; Error: string }>; Errors: string[] };
    expect(parsed.ProcessedClientActions[1]?.ActionStatus).toBe(2);
    expect(parsed.Errors[0]).toMatch(/no data key provider/);
    expect(isGatehouseError(none.error, 'GH_ERR_SSM')).toBe(true);

    const failing: DataKeyProvider = { generateDataKey: () => Promise.reject(new Error('AccessDeniedException')) };
    const denied = await answerHandshakeRequest(request([SESSION_TYPE, KMS_ACTION]), { ...CONTEXT, dataKeyProvider: failing });
    expect(denied.error?.message).toMatch(/GenerateDataKey failed: AccessDeniedException/);

    const odd = await answerHandshakeRequest(request([SESSION_TYPE, { ActionType: 'Teleport', ActionParameters: {} }]), { ...CONTEXT, dataKeyProvider: undefined });
    expect(JSON.parse(odd.response.toString()).ProcessedClientActions[1].ActionStatus).toBe(3);

    const port = await answerHandshakeRequest(request([{ ActionType: 'SessionType', ActionParameters: { SessionType: 'Port', Properties: {} } }]), { ...CONTEXT, dataKeyProvider: undefined });
    expect(port.error?.message).toMatch(/"Port" is not supported/);
  });

  it('rejects a HandshakeRequest that is not JSON', async () => {
    await expect(answerHandshakeRequest(Buffer.from('nope'), { ...CONTEXT, dataKeyProvider: undefined })).rejects.toMatchObject({ code: 'GH_ERR_SSM_PROTOCOL' });
  });

  it('parses HandshakeComplete', () => {
    expect(parseHandshakeComplete(Buffer.from('{"HandshakeTimeToComplete":1500000,"CustomerMessage":"This session is encrypted using AWS KMS."}'))).toEqual({
      HandshakeTimeToComplete: 1500000, CustomerMessage: 'This session is encrypted using AWS KMS.',
    });
  });

  it('adapts a GenerateDataKey call (the @aws-sdk/client-kms shape)', async () => {
    const provider = kmsClientDataKeyProvider(async (input, region) => {
      expect(input).toEqual({ KeyId: 'k', NumberOfBytes: 64, EncryptionContext: { a: 'b' } });
      expect(region).toBe('us-east-2');
      return { Plaintext: KMS.dataKey, CiphertextBlob: Buffer.from('x') };
    });
    const key = await provider.generateDataKey({ keyId: 'k', numberOfBytes: 64, encryptionContext: { a: 'b' }, region: 'us-east-2' });
    expect(Buffer.from(key.ciphertextBlob).toString()).toBe('x');
    const empty = kmsClientDataKeyProvider(async () => ({}));
    await expect(empty.generateDataKey({ keyId: 'k', numberOfBytes: 64, encryptionContext: {}, region: 'r' })).rejects.toMatchObject({ code: 'GH_ERR_SSM' });
  });
});

describe('handshake: client against the simulated agent', () => {
  async function run(opts: { acknowledge: boolean; require: boolean; targetId?: string }): Promise<void> {
    const kms = new FakeKms(['key-1']);
    const agent = new AgentHandshake({ sessionId: 's-1', targetId: 'i-1', sessionType: 'Standard_Stream', kmsKeyId: 'key-1', kms, requireChallengeResponse: opts.require });
    const out = await answerHandshakeRequest(agent.requestPayload(), { sessionId: 's-1', targetId: opts.targetId ?? 'i-1', region: 'r', dataKeyProvider: kms, acknowledgeChallenge: opts.acknowledge });
    if (out.cipher === null) throw new Error('no cipher');
    const challenge = agent.onResponse(out.response);
    if (challenge === null) throw new Error('no challenge');
    agent.onChallengeResponse(answerEncChallenge(challenge, out.cipher));
    expect(JSON.parse(agent.completePayload().toString()).CustomerMessage).toBe('This session is encrypted using AWS KMS.');
    const agentCipher = agent.cipher;
    expect(agentCipher?.decrypt(out.cipher.encrypt(Buffer.from('ls\r'))).toString()).toBe('ls\r');
    expect(out.cipher.decrypt(agentCipher?.encrypt(Buffer.from('$ ')) ?? Buffer.alloc(0)).toString()).toBe('$ ');
  }

  it('completes without the challenge binding ([P]-style)', async () => {
    await run({ acknowledge: false, require: false });
  });

  it('completes with it, and an agent that requires it refuses a client that does not bind it', async () => {
    await run({ acknowledge: true, require: true });
    await expect(run({ acknowledge: false, require: true })).rejects.toThrow(/did not acknowledge/);
  });

  it('fails when the data key was generated under another context (wrong target)', async () => {
    await expect(run({ acknowledge: false, require: false, targetId: 'i-other' })).rejects.toThrow(/InvalidCiphertext/);
  });
});
