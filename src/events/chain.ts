/**
 * The audit hash chain: hash = SHA-256(prev_hash || JCS(event)), where the event is hashed with
 * its sequence number and without prevHash/hash. Pure: the store calls `seal` inside the
 * transaction that appends, so the chain order is the commit order.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { AuditEvent, ChainHead, UnsealedEvent } from './types.js';

export const GENESIS: ChainHead = { seq: 0, hash: '0'.repeat(64) };

export function eventHash(prevHash: string, event: Omit<AuditEvent, 'prevHash' | 'hash'>): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(canonicalJson(event)).digest('hex');
}

export function seal(prev: ChainHead, event: UnsealedEvent): AuditEvent {
  const body = { ...event, seq: prev.seq + 1 };
  return { ...body, prevHash: prev.hash, hash: eventHash(prev.hash, body) };
}

/** Where a chain fails verification, or null when every link holds. */
export interface ChainBreak {
  readonly seq: number;
  readonly problem: 'edited' | 'gap' | 'reordered' | 'relinked';
  readonly detail: string;
}

/** Checks links from `prev` through `events` (ascending). Returns the first break. */
export function verifyLinks(prev: ChainHead, events: readonly AuditEvent[]): ChainBreak | null {
  let head = prev;
  for (const e of events) {
    if (e.seq !== head.seq + 1) {
      // The missing number turning up later means the events were moved, not deleted.
      return e.seq < head.seq + 1 || events.some((x) => x.seq === head.seq + 1)
        ? { seq: e.seq, problem: 'reordered', detail: `event ${e.seq} follows ${head.seq}` }
        : { seq: head.seq + 1, problem: 'gap', detail: `events ${head.seq + 1}..${e.seq - 1} are missing` };
    }
    if (e.prevHash !== head.hash) return { seq: e.seq, problem: 'relinked', detail: `event ${e.seq} does not link to event ${head.seq}` };
    const { prevHash: _p, hash: _h, ...body } = e;
    if (eventHash(head.hash, body) !== e.hash) return { seq: e.seq, problem: 'edited', detail: `event ${e.seq} does not match its hash` };
    head = { seq: e.seq, hash: e.hash };
  }
  return null;
}
