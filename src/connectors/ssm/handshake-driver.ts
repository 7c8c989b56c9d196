/**
 * Runs the client's side of the handshake as messages arrive (spec §8): answers HandshakeRequest
 * (with the KMS data key) and EncChallengeRequest, and reports HandshakeComplete. The steps run in
 * order even though the data-key call is asynchronous; the reliable layer has already acked each
 * request ([P] acks handshake messages before processing them).
 */
import type { Logger } from 'pino';
import { GatehouseError, asGatehouseError } from '../../domain/errors.js';
import { PayloadType } from './codec.js';
import { answerEncChallenge, answerHandshakeRequest, parseHandshakeComplete, parseHandshakeRequest, type HandshakeContext } from './handshake.js';
import type { BlockCipher } from './kms.js';

export interface HandshakeDriverOptions {
  readonly context: HandshakeContext;
  /** The target requires KMS: a handshake that completes without it fails. */
  readonly expectKms: boolean;
  readonly logger: Logger;
  /** Sends a sequenced input_stream_data message. */
  readonly send: (payloadType: number, payload: Buffer) => void;
  /** HandshakeComplete arrived; the argument is the agent's CustomerMessage (may be empty). */
  readonly onComplete: (customerMessage: string) => void;
  readonly onFail: (error: GatehouseError) => void;
}

export class HandshakeDriver {
  private readonly o: HandshakeDriverOptions;
  private steps: Promise<void> = Promise.resolve();
  private stopped = false;
  private cipherValue: BlockCipher | null = null;

  constructor(options: HandshakeDriverOptions) {
    this.o = options;
  }

  /** Set once KMS encryption was agreed; from then on Output is encrypted both ways. */
  get cipher(): BlockCipher | null {
    return this.cipherValue;
  }

  /** Stops processing queued steps (the session ended). */
  stop(): void {
    this.stopped = true;
  }

  /** Takes a handshake message (PayloadType 5, 7 or 8); returns false for any other type. */
  handle(payloadType: number, payload: Buffer): boolean {
    switch (payloadType) {
      case PayloadType.HandshakeRequest:
        this.step(() => this.onRequest(payload));
        return true;
      case PayloadType.EncChallengeRequest:
        this.step(() => {
          if (this.cipherValue === null) throw new GatehouseError('GH_ERR_SSM_PROTOCOL', 'EncChallengeRequest before a KMS data key was agreed');
          this.o.send(PayloadType.EncChallengeResponse, answerEncChallenge(payload, this.cipherValue));
        });
        return true;
      case PayloadType.HandshakeComplete:
        this.step(() => {
          const done = parseHandshakeComplete(payload);
          if (this.o.expectKms && this.cipherValue === null) {
            throw new GatehouseError('GH_ERR_SSM', 'SSM handshake completed without KMS encryption, which this target requires');
          }
          this.o.onComplete(done.CustomerMessage);
        });
        return true;
      default:
        return false;
    }
  }

  private step(fn: () => void | Promise<void>): void {
    this.steps = this.steps
      .then(async () => {
        if (!this.stopped) await fn();
      })
      .catch((err: unknown) => {
        this.stopped = true;
        this.o.onFail(asGatehouseError(err, 'GH_ERR_SSM_PROTOCOL'));
      });
  }

  private async onRequest(payload: Buffer): Promise<void> {
    const request = parseHandshakeRequest(payload);
    this.o.logger.debug({ agentVersion: request.AgentVersion, actions: request.RequestedClientActions.map((a) => a.ActionType) }, 'ssm handshake request');
    const outcome = await answerHandshakeRequest(payload, this.o.context);
    if (this.stopped) return;
    this.cipherValue = outcome.cipher;
    this.o.send(PayloadType.HandshakeResponse, outcome.response);
    if (outcome.error !== null) throw outcome.error;
  }
}
