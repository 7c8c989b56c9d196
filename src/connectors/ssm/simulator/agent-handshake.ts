/**
 * The agent's side of the handshake ([A] sessionplugin.go, blockcipher.go, spec §8 and §11):
 * HandshakeRequest out, HandshakeResponse checked, the data key decrypted through (fake) KMS,
 * EncChallenge out and checked, HandshakeComplete out.
 */
import { randomBytes } from 'node:crypto';
import { ActionStatus, ActionType, KMS_CUSTOMER_MESSAGE, parseJson, type HandshakeResponse, type ProcessedClientAction } from '../handshake.js';
import { BlockCipher, counterNonces, splitDataKey } from '../kms.js';
import type { FakeKms } from './fake-kms.js';

export const AGENT_VERSION = '3.3.987.0';

export interface AgentHandshakeConfig {
  readonly sessionId: string;
  readonly targetId: string;
  /** Standard_Stream, InteractiveCommands or NonInteractiveCommands. */
  readonly sessionType: string;
  /** Set when the Session Manager preferences turn KMS encryption on. */
  readonly kmsKeyId: string | undefined;
  readonly kms: FakeKms;
  /** RequireKMSChallengeResponse ([A] appconfig): insist on ChallengeAcknowledgement. */
  readonly requireChallengeResponse: boolean;
}

export class AgentHandshake {
  private readonly c: AgentHandshakeConfig;
  private readonly startedAt = process.hrtime.bigint();
  private readonly requestChallenge = randomBytes(16).toString('base64');
  private encChallenge: Buffer | null = null;
  cipher: BlockCipher | null = null;

  constructor(config: AgentHandshakeConfig) {
    this.c = config;
  }

  get encrypted(): boolean {
    return this.c.kmsKeyId !== undefined;
  }

  requestPayload(): Buffer {
    const actions: unknown[] = [{ ActionType: ActionType.SessionType, ActionParameters: { SessionType: this.c.sessionType, Properties: null } }];
    if (this.c.kmsKeyId !== undefined) {
      actions.push({ ActionType: ActionType.KMSEncryption, ActionParameters: { KMSKeyId: this.c.kmsKeyId, Challenge: this.requestChallenge } });
    }
    return Buffer.from(JSON.stringify({ AgentVersion: AGENT_VERSION, RequestedClientActions: actions }), 'utf8');
  }

  /**
   * Checks the HandshakeResponse; returns the EncChallengeRequest payload to send next (KMS), or
   * null when the handshake can complete now. Throws with the reason on failure.
   */
  onResponse(payload: Uint8Array): Buffer | null {
    const response = parseJson(payload, 'HandshakeResponse') as Partial<HandshakeResponse> | null;
    const processed = Array.isArray(response?.ProcessedClientActions) ? (response.ProcessedClientActions as ProcessedClientAction[]) : [];
    const expected = this.c.kmsKeyId !== undefined ? 2 : 1;
    if (processed.length !== expected) throw new Error(`expected ${expected} processed client actions, got ${processed.length}`);
    for (const a of processed) {
      if (a.ActionStatus !== ActionStatus.Success) throw new Error(`client action ${a.ActionType} failed: ${a.Error}`);
    }
    if (this.c.kmsKeyId === undefined) return null;
    const kmsAction = processed.find((a) => a.ActionType === ActionType.KMSEncryption);
    const result = (kmsAction?.ActionResult ?? null) as { KMSCipherTextKey?: unknown; ChallengeAcknowledgement?: unknown } | null;
    if (result === null || typeof result.KMSCipherTextKey !== 'string') throw new Error('KMSEncryption result has no KMSCipherTextKey');
    const acknowledged = result.ChallengeAcknowledgement === true;
    if (this.c.requireChallengeResponse && !acknowledged) throw new Error('client did not acknowledge the KMS challenge');
    const context: Record<string, string> = { 'aws:ssm:SessionId': this.c.sessionId, 'aws:ssm:TargetId': this.c.targetId };
    if (acknowledged) context['aws:ssm:RandomChallenge'] = this.requestChallenge;
    const dataKey = this.c.kms.decrypt(Buffer.from(result.KMSCipherTextKey, 'base64'), context);
    this.cipher = new BlockCipher(splitDataKey(dataKey, 'agent'), counterNonces());
    this.encChallenge = randomBytes(64);
    return Buffer.from(JSON.stringify({ Challenge: this.cipher.encrypt(this.encChallenge).toString('base64') }), 'utf8');
  }

  /** Checks the EncChallengeResponse ([A] handleEncryptionChallengeResponse). */
  onChallengeResponse(payload: Uint8Array): void {
    const v = parseJson(payload, 'EncChallengeResponse') as { Challenge?: unknown } | null;
    if (this.cipher === null || this.encChallenge === null) throw new Error('unexpected EncChallengeResponse');
    if (typeof v?.Challenge !== 'string') throw new Error('EncChallengeResponse has no Challenge');
    const plain = this.cipher.decrypt(Buffer.from(v.Challenge, 'base64'));
    if (!plain.equals(this.encChallenge)) throw new Error('encryption challenge mismatch');
  }

  completePayload(): Buffer {
    const ns = Number(process.hrtime.bigint() - this.startedAt);
    return Buffer.from(JSON.stringify({ HandshakeTimeToComplete: ns, CustomerMessage: this.c.kmsKeyId !== undefined ? KMS_CUSTOMER_MESSAGE : '' }), 'utf8');
  }
}
