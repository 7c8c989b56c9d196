/**
 * The data channel's reconnect back-off ([P] retryer.go): the policy and the loop that opens the
 * first socket and every resumed one. Separate from data-channel.ts because it is the one piece
 * of it that is about waiting rather than framing; it runs once per connect or resume, never per
 * frame.
 */
import type { Logger } from 'pino';
import { GatehouseError } from '../../domain/errors.js';
import type { Timers } from './clock.js';

export interface RetryPolicy {
  /** First delay is initialMs + rand(jitterMs). [P]: 100 + rand(100). */
  readonly initialMs: number;
  readonly jitterMs: number;
  /** Each delay doubles; past maxMs it starts again from the initial delay ([P] retryer.go). */
  readonly maxMs: number;
  /** Retries after the first attempt. [P]: 5. */
  readonly maxRetries: number;
}

export const PLUGIN_RETRY_POLICY: RetryPolicy = { initialMs: 100, jitterMs: 100, maxMs: 5000, maxRetries: 5 };

export interface RetryContext {
  readonly policy: RetryPolicy;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The channel ended meanwhile: stop trying, and let go of a socket that opened too late. */
  readonly isEnded: () => boolean;
}

/** [P] retryer: attempt now, then back off; null when the channel ended meanwhile. */
export async function withRetries<T extends { terminate(): void }>(what: string, attempt: () => Promise<T>, ctx: RetryContext): Promise<T | null> {
  const policy = ctx.policy;
  const initial = policy.initialMs + Math.floor(Math.random() * policy.jitterMs);
  let delay = initial;
  for (let i = 0; ; i++) {
    if (ctx.isEnded()) return null;
    try {
      const ws = await attempt();
      if (ctx.isEnded()) {
        ws.terminate();
        return null;
      }
      return ws;
    } catch (err) {
      const permanent = err instanceof GatehouseError && err.details?.['permanent'] === true;
      if (permanent || i >= policy.maxRetries) {
        if (err instanceof GatehouseError) throw err;
        throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `SSM data channel ${what} failed after ${i + 1} attempts: ${(err as Error).message}`, undefined, { cause: err });
      }
      ctx.logger.debug({ err: (err as Error).message, attempt: i + 1 }, `ssm data channel ${what} failed; retrying`);
      await new Promise<void>((resolve) => ctx.timers.after(delay, resolve));
      delay *= 2;
      if (delay > policy.maxMs) delay = initial;
    }
  }
}
