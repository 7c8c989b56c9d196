/** Chains for the audit tests: plain events and signed checkpoints, sealed exactly as the broker seals them. */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { CATALOGUE, type EventType } from '../../../src/events/catalogue.js';
import { eventHash, GENESIS, seal } from '../../../src/events/chain.js';
import { signCheckpoint, type CheckpointClaims } from '../../../src/events/checkpoint.js';
import { encodePublicKey } from '../../../src/events/signing-key.js';
import type { AuditEvent, ChainHead, UnsealedEvent } from '../../../src/events/types.js';

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly b64: string;
}

export function testKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, b64: encodePublicKey(publicKey) };
}

let clock = Date.UTC(2026, 0, 1, 9, 0, 0);

export function draft(type: EventType = 'command.allowed', data?: Record<string, unknown>): UnsealedEvent {
  clock += 1_000;
  const defaults: Partial<Record<EventType, Record<string, unknown>>> = {
    'command.allowed': { command: 'ls -la', reasons: [], mode: 'exec' },
    'recording.closed': { path: 'rec.cast', sha256: '0'.repeat(64), bytes: 0, truncated: false },
  };
  return {
    id: randomUUID(),
    time: new Date(clock).toISOString(),
    type,
    code: CATALOGUE[type].code,
    severity: CATALOGUE[type].severity,
    broker: 'b1',
    actor: 'alice',
    user: 'alice',
    target: 'web-1',
    grantId: 'g-1',
    incident: 'INC-1',
    sessionId: 's-1',
    source: '127.0.0.1:50000',
    data: data ?? defaults[type] ?? {},
  };
}

/** Builds a chain; `plan` is a string of `e` (plain event) and `c` (checkpoint by `key`). */
export class ChainBuilder {
  readonly events: AuditEvent[] = [];
  private readonly lastSig = new Map<string, string>();

  constructor(private readonly key: TestKey) {}

  get head(): ChainHead {
    const last = this.events.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : GENESIS;
  }

  add(e: UnsealedEvent): AuditEvent {
    const sealed = seal(this.head, e);
    this.events.push(sealed);
    return sealed;
  }

  checkpoint(key: TestKey = this.key, prevSignature: string | null = this.lastSig.get(key.b64) ?? null): AuditEvent {
    const d = draft('audit.checkpoint', {});
    const prev = this.head;
    const claims: CheckpointClaims = { seq: prev.seq, head: prev.hash, time: d.time, prevSignature };
    const signature = signCheckpoint(key.privateKey, claims);
    this.lastSig.set(key.b64, signature);
    return this.add({ ...d, data: { seq: prev.seq, head: prev.hash, prevSignature, signature, publicKey: key.b64 } });
  }

  plan(p: string): this {
    for (const ch of p) {
      if (ch === 'e') this.add(draft());
      else if (ch === 'c') this.checkpoint();
      else if (ch === 'r') this.add(draft('recording.closed'));
    }
    return this;
  }
}

/** Re-seals `events` from `from` (index) on, as an attacker with database access would after an edit. */
export function rehash(events: AuditEvent[], from: number): AuditEvent[] {
  const out = events.slice(0, from);
  let head: ChainHead = from === 0 ? GENESIS : { seq: (out[from - 1] as AuditEvent).seq, hash: (out[from - 1] as AuditEvent).hash };
  for (const e of events.slice(from)) {
    const { prevHash: _p, hash: _h, ...body } = e;
    const next = { ...body, prevHash: head.hash, hash: eventHash(head.hash, body) };
    out.push(next);
    head = next;
  }
  return out;
}

/** A copy of event `e` with `patch` applied (hash not recomputed). */
export function edited(e: AuditEvent, patch: Partial<AuditEvent>): AuditEvent {
  return { ...e, ...patch };
}
