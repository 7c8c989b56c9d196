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
