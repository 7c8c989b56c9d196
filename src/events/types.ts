import type { Severity, EventType, EventData } from './catalogue.js';

/** Who and what an event is about. Every field is optional at emit time and null when stored. */
export interface EventContext {
  readonly actor?: string | null;
  readonly user?: string | null;
  readonly target?: string | null;
  readonly grantId?: string | null;
  readonly incident?: string | null;
  readonly sessionId?: string | null;
  readonly source?: string | null;
}

/** An event as a service emits it: type, payload, context. */
export interface EventDraft<T extends EventType = EventType> {
  readonly type: T;
  readonly data: EventData<T>;
  readonly ctx: EventContext;
  /**
   * When it happened (ms since the epoch), if earlier than the draft is written: `session.end` is
   * stamped when the connections closed, not when the recording had finished closing.
   */
  readonly at?: number;
}

/** An event with identity and time, before the store gives it a place in the chain. */
export interface UnsealedEvent {
  readonly id: string;
  readonly time: string;
  readonly type: EventType;
  readonly code: string;
  readonly severity: Severity;
  readonly broker: string;
  readonly actor: string | null;
  readonly user: string | null;
  readonly target: string | null;
  readonly grantId: string | null;
  readonly incident: string | null;
  readonly sessionId: string | null;
  readonly source: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** An event as stored and shipped: sequence number and its link in the hash chain. */
export interface AuditEvent extends UnsealedEvent {
  readonly seq: number;
  /** Hex SHA-256 of the previous event (64 zeros before the first). */
  readonly prevHash: string;
  /** Hex SHA-256(prevHash bytes || canonical JSON of the event without prevHash and hash). */
  readonly hash: string;
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}
