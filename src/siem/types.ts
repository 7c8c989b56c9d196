import type { AuditEvent } from '../events/types.js';

/** One destination for events. `deliver` resolves only when the batch is safely handed over. */
export interface Sink {
  /** Stable name: the key of this sink's cursor in the store. */
  readonly name: string;
  /** Should this sink get this event (type/severity filters)? */
  accepts(event: AuditEvent): boolean;
  deliver(batch: readonly AuditEvent[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A failed delivery with advice for the worker: `retryAfterMs` (the receiver said when, e.g. HTTP
 * Retry-After) and `permanent` (a configuration error such as HTTP 401: retried at the maximum
 * backoff and logged at error level every time, never dropped).
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  readonly retryAfterMs: number | undefined;
  readonly permanent: boolean;

  constructor(message: string, opts: { retryAfterMs?: number; permanent?: boolean } = {}) {
    super(message);
    this.retryAfterMs = opts.retryAfterMs;
    this.permanent = opts.permanent ?? false;
  }
}
