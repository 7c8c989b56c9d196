/**
 * The audit hash chain: hash = SHA-256(prev_hash || JCS(event)), where the event is hashed with
 * its sequence number and without prevHash/hash. Pure: the store calls `seal` inside the
 * transaction that appends, so the chain order is the commit order. Verification is verify.ts
 * (ChainVerifier), shared by the online and offline checks.
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
