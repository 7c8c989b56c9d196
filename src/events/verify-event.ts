/**
 * Checks on one audit event taken on its own, apart from its place in the chain: is it a
 * well-formed Gatehouse event, does its content match its hash, and — for an `audit.checkpoint` —
 * does its signature verify with a trusted key. Separate from verify.ts so that the ChainVerifier
 * there reads as the ordering logic (gaps, swaps, relinks, truncation), and so that an anchor can
 * be validated (`anchorProblem`) without a verifier.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { CATALOGUE, isEventType, SEVERITIES } from './catalogue.js';
import { eventHash } from './chain.js';
import { checkSignature } from './checkpoint.js';
import { encodePublicKey, keyIdOf } from './signing-key.js';
import type { AuditEvent } from './types.js';
import type { BreakKind } from './verify.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const eventShape = z.object({
  seq: z.number().int().positive(),
  id: z.string().min(1),
  time: z.string().min(1),
  type: z.string().refine(isEventType, 'not a catalogue event type'),
  code: z.string(),
  severity: z.enum(SEVERITIES as [string, ...string[]]),
  broker: z.string(),
  actor: z.string().nullable(),
  user: z.string().nullable(),
  target: z.string().nullable(),
  grantId: z.string().nullable(),
  incident: z.string().nullable(),
  sessionId: z.string().nullable(),
  source: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  prevHash: hex64,
  hash: hex64,
});

/** Checks that `value` has the shape of a stored event; returns the problem, or null. The object itself is what gets hashed. */
export function eventShapeProblem(value: unknown): string | null {
  const r = eventShape.safeParse(value);
  return r.success ? null : r.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ');
}

const checkpointData = CATALOGUE['audit.checkpoint'].data;

/**
 * Validates an anchor on its own: a well-formed `audit.checkpoint` event whose hash matches its
 * content and whose signature verifies with a trusted key. Returns the problem, or null.
 */
export function anchorProblem(anchor: AuditEvent, trustedKeys: readonly KeyObject[]): string | null {
  const shape = eventShapeProblem(anchor);
  if (shape !== null) return `not an event: ${shape}`;
  if (anchor.type !== 'audit.checkpoint') return `it is a ${anchor.type} event, not audit.checkpoint`;
  const { prevHash: _p, hash: _h, ...body } = anchor;
  if (hashOf(anchor.prevHash, body) !== anchor.hash) return 'its content does not match its hash';
  const problem = checkpointProblem(anchor, trustedKeys);
  return problem === null ? null : problem.detail;
}

/** The event's hash, or null when its content cannot be canonicalised (a lone surrogate). */
export function hashOf(prevHash: string, body: Omit<AuditEvent, 'prevHash' | 'hash'>): string | null {
  try {
    return eventHash(prevHash, body);
  } catch {
    return null;
  }
}

export function checkpointProblem(e: AuditEvent, trusted: readonly KeyObject[]): { kind: BreakKind; detail: string } | null {
  const parsed = checkpointData.safeParse(e.data);
  if (!parsed.success) return { kind: 'malformed', detail: `checkpoint ${e.seq} has a malformed payload` };
  const d = parsed.data;
  if (d.seq !== e.seq - 1 || d.head !== e.prevHash) return { kind: 'checkpoint-mismatch', detail: `checkpoint ${e.seq} claims head ${d.seq}/${d.head.slice(0, 12)}, but follows ${e.seq - 1}/${e.prevHash.slice(0, 12)}` };
  const key = trusted.find((k) => encodePublicKey(k) === d.publicKey);
  if (key === undefined) return { kind: 'untrusted-signer', detail: `checkpoint ${e.seq} is signed by ${safeKeyId(d.publicKey)}, which is not a trusted key` };
  if (!checkSignature(key, { seq: d.seq, head: d.head, time: e.time, prevSignature: d.prevSignature }, d.signature)) {
    return { kind: 'bad-signature', detail: `checkpoint ${e.seq}: the signature does not verify with ${safeKeyId(d.publicKey)}` };
  }
  return null;
}

export function safeKeyId(publicKeyB64: string): string {
  try {
    return keyIdOf(encodePublicKey(createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' })));
  } catch {
    return 'an unreadable key';
  }
}
