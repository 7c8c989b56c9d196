/**
 * The session handshake, client side (spec §8): HandshakeRequest → HandshakeResponse, the KMS
 * EncChallenge, HandshakeComplete. Pure functions over payloads plus the injected DataKeyProvider;
 * the upstream decides when to call them. The JSON is written in Go's field order (vector V8).
 */
import { GatehouseError } from '../../domain/errors.js';
import { BlockCipher, DATA_KEY_BYTES, splitDataKey, type DataKeyProvider, type NonceSource } from './kms.js';
import { CLIENT_VERSION } from './messages.js';

export const ActionType = { SessionType: 'SessionType', KMSEncryption: 'KMSEncryption' } as const;
export const ActionStatus = { Success: 1, Failed: 2, Unsupported: 3 } as const;
export const SessionType = {
  StandardStream: 'Standard_Stream',
  InteractiveCommands: 'InteractiveCommands',
  NonInteractiveCommands: 'NonInteractiveCommands',
  Port: 'Port',
} as const;
/** The session types the plugin handles as a terminal stream ([P] maps all three alike). */
const STREAM_SESSION_TYPES: readonly string[] = [SessionType.StandardStream, SessionType.InteractiveCommands, SessionType.NonInteractiveCommands];
export const KMS_CUSTOMER_MESSAGE = 'This session is encrypted using AWS KMS.';

export interface RequestedClientAction {
  readonly ActionType: string;
  readonly ActionParameters: unknown;
}

export interface HandshakeRequest {
  readonly AgentVersion: string;
  readonly RequestedClientActions: readonly RequestedClientAction[];
}

export interface ProcessedClientAction {
  readonly ActionType: string;
  readonly ActionStatus: number;
  readonly ActionResult: unknown;
  readonly Error: string;
}

export interface HandshakeResponse {
  readonly ClientVersion: string;
  readonly ProcessedClientActions: readonly ProcessedClientAction[];
  readonly Errors: readonly string[] | null;
}

export interface HandshakeComplete {
  /** Nanoseconds (Go time.Duration). */
  readonly HandshakeTimeToComplete: number;
  readonly CustomerMessage: string;
}

export interface HandshakeContext {
  readonly sessionId: string;
  /** The StartSession Target (the instance id); part of the KMS encryption context. */
  readonly targetId: string;
  readonly region: string;
  readonly dataKeyProvider: DataKeyProvider | undefined;
  /**
   * Also bind the data key to the agent's random challenge ("aws:ssm:RandomChallenge") and say so
   * with ChallengeAcknowledgement. [P] does not; agents accept either unless they require it.
   */
  readonly acknowledgeChallenge?: boolean;
  /** Nonces for this end's encryption; default random. */
  readonly nonces?: NonceSource;
}

export interface HandshakeOutcome {
  /** The HandshakeResponse payload to send as input_stream_data PayloadType 6. */
  readonly response: Buffer;
  readonly sessionType: string;
  /** Set when KMS encryption was negotiated. */
  readonly cipher: BlockCipher | null;
  /** Set when the handshake cannot succeed: send the response (so the agent knows), then fail. */
  readonly error: GatehouseError | null;
}

function protocolError(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_SSM_PROTOCOL', message);
}

export function parseJson(payload: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw protocolError(`${what}: payload is not JSON`);
  }
}

export function parseHandshakeRequest(payload: Uint8Array): HandshakeRequest {
  const v = parseJson(payload, 'HandshakeRequest') as Partial<HandshakeRequest> | null;
  if (v === null || typeof v !== 'object' || !Array.isArray(v.RequestedClientActions)) {
    throw protocolError('HandshakeRequest: RequestedClientActions missing');
  }
  return { AgentVersion: typeof v.AgentVersion === 'string' ? v.AgentVersion : '', RequestedClientActions: v.RequestedClientActions };
}

export function encodeHandshakeResponse(response: HandshakeResponse): Buffer {
  return Buffer.from(JSON.stringify({
    ClientVersion: response.ClientVersion,
    ProcessedClientActions: response.ProcessedClientActions.map((a) => ({
      ActionType: a.ActionType, ActionStatus: a.ActionStatus, ActionResult: a.ActionResult, Error: a.Error,
    })),
    Errors: response.Errors,
  }), 'utf8');
}

function params(action: RequestedClientAction): Record<string, unknown> {
  const p = action.ActionParameters;
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
}

/** Answers a HandshakeRequest ([P] handleHandshakeRequest), generating the KMS data key if asked. */
export async function answerHandshakeRequest(payload: Uint8Array, ctx: HandshakeContext): Promise<HandshakeOutcome> {
  const request = parseHandshakeRequest(payload);
  const processed: ProcessedClientAction[] = [];
  const errors: string[] = [];
  let sessionType = '';
  let cipher: BlockCipher | null = null;
  for (const action of request.RequestedClientActions) {
    if (action.ActionType === ActionType.SessionType) {
      const type = params(action)['SessionType'];
      sessionType = typeof type === 'string' ? type : '';
      const ok = STREAM_SESSION_TYPES.includes(sessionType);
      const message = ok ? '' : `session type ${JSON.stringify(sessionType)} is not supported by Gatehouse`;
      if (!ok) errors.push(message);
      processed.push({ ActionType: action.ActionType, ActionStatus: ok ? ActionStatus.Success : ActionStatus.Unsupported, ActionResult: null, Error: message });
    } else if (action.ActionType === ActionType.KMSEncryption) {
      const result = await kmsAction(params(action), ctx);
      if (result.cipher !== null) cipher = result.cipher;
      else errors.push(result.error);
      processed.push({
        ActionType: action.ActionType,
        ActionStatus: result.cipher !== null ? ActionStatus.Success : ActionStatus.Failed,
        ActionResult: result.actionResult,
        Error: result.error,
      });
    } else {
      const message = `unsupported client action ${JSON.stringify(action.ActionType)}`;
      errors.push(message);
      processed.push({ ActionType: action.ActionType, ActionStatus: ActionStatus.Unsupported, ActionResult: null, Error: message });
    }
  }
  const response = encodeHandshakeResponse({ ClientVersion: CLIENT_VERSION, ProcessedClientActions: processed, Errors: errors.length > 0 ? errors : null });
  const error = errors.length > 0 ? new GatehouseError('GH_ERR_SSM', `SSM handshake failed: ${errors.join('; ')}`) : null;
  return { response, sessionType, cipher, error };
}

interface KmsResult {
  readonly cipher: BlockCipher | null;
  readonly actionResult: unknown;
  readonly error: string;
}

async function kmsAction(p: Record<string, unknown>, ctx: HandshakeContext): Promise<KmsResult> {
  const keyId = p['KMSKeyId'];
  if (typeof keyId !== 'string' || keyId === '') return { cipher: null, actionResult: null, error: 'KMSEncryption: KMSKeyId missing' };
  if (ctx.dataKeyProvider === undefined) {
    return { cipher: null, actionResult: null, error: 'KMS encryption is required by the session preferences but no data key provider is configured' };
  }
  const challenge = p['Challenge'];
  const bindChallenge = ctx.acknowledgeChallenge === true && typeof challenge === 'string' && challenge !== '';
  const encryptionContext: Record<string, string> = { 'aws:ssm:SessionId': ctx.sessionId, 'aws:ssm:TargetId': ctx.targetId };
  if (bindChallenge) encryptionContext['aws:ssm:RandomChallenge'] = challenge;
  try {
    const key = await ctx.dataKeyProvider.generateDataKey({ keyId, encryptionContext, numberOfBytes: DATA_KEY_BYTES, region: ctx.region });
    const cipher = new BlockCipher(splitDataKey(key.plaintext, 'client'), ctx.nonces);
    const actionResult = {
      KMSCipherTextKey: Buffer.from(key.ciphertextBlob).toString('base64'),
      KMSCipherTextHash: null,
      ...(bindChallenge ? { ChallengeAcknowledgement: true } : {}),
    };
    return { cipher, actionResult, error: '' };
  } catch (err) {
    return { cipher: null, actionResult: null, error: `KMS GenerateDataKey failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** EncChallengeRequest → EncChallengeResponse: decrypt with our decryption key, re-encrypt with ours. */
export function answerEncChallenge(payload: Uint8Array, cipher: BlockCipher): Buffer {
  const v = parseJson(payload, 'EncChallengeRequest') as { Challenge?: unknown } | null;
  if (v === null || typeof v !== 'object' || typeof v.Challenge !== 'string') throw protocolError('EncChallengeRequest: Challenge missing');
  const plain = cipher.decrypt(Buffer.from(v.Challenge, 'base64'));
  return Buffer.from(JSON.stringify({ Challenge: cipher.encrypt(plain).toString('base64') }), 'utf8');
}

export function parseHandshakeComplete(payload: Uint8Array): HandshakeComplete {
  const v = parseJson(payload, 'HandshakeComplete') as Partial<HandshakeComplete> | null;
  return {
    HandshakeTimeToComplete: typeof v?.HandshakeTimeToComplete === 'number' ? v.HandshakeTimeToComplete : 0,
    CustomerMessage: typeof v?.CustomerMessage === 'string' ? v.CustomerMessage : '',
  };
}
