/**
 * Signed checkpoints of the audit chain, modelled on CloudTrail's digest files. Every N events,
 * every T seconds (when something happened) and at graceful shutdown, the broker appends an
 * `audit.checkpoint` event whose payload is an Ed25519 signature over
 *
 *     canonicalJson({ seq, head, time, prevSignature })          (RFC 8785, keys sorted)
 *
 * where `seq`/`head` are the sequence number and hash of the event just before the checkpoint,
 * `time` is the checkpoint event's own `time`, and `prevSignature` is the signature of the previous
 * checkpoint made with the same key (null for a key's first). The checkpoint is signed inside the
 * store transaction that appends it (a custom Sealer), so it always signs the true head — also when
 * several brokers append to one PostgreSQL chain concurrently. Each broker signs with its own key and
 * the `prevSignature` links run per key, so concurrent brokers never fork each other's checkpoint
 * chain (two brokers sharing one key file would: don't). Sinks ship the checkpoints like any event,
 * so the SIEM holds signed anchors the broker's database cannot rewrite.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../domain/clock.js';
import type { Sealer, Store } from '../store/ports.js';
import { canonicalJson } from './canonical.js';
import { seal } from './chain.js';
import type { EventLog } from './log.js';
import type { SigningKey } from './signing-key.js';
import type { AuditEvent } from './types.js';

/** What a checkpoint signature covers. */
export interface CheckpointClaims {
  /** Sequence number of the last event covered (the event just before the checkpoint). */
  readonly seq: number;
  /** Hex hash of that event: the chain head at signing time. */
  readonly head: string;
  /** The checkpoint event's `time`. */
  readonly time: string;
  readonly prevSignature: string | null;
}

export function signedMaterial(c: CheckpointClaims): string {
  return canonicalJson({ seq: c.seq, head: c.head, time: c.time, prevSignature: c.prevSignature });
}

/** Base64 Ed25519 signature over `signedMaterial(claims)`. */
export function signCheckpoint(key: KeyObject, claims: CheckpointClaims): string {
  return sign(null, Buffer.from(signedMaterial(claims)), key).toString('base64');
}

export function checkSignature(publicKey: KeyObject, claims: CheckpointClaims, signature: string): boolean {
  try {
    return verify(null, Buffer.from(signedMaterial(claims)), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The store cursor holding the seq of a key's last checkpoint. */
export function checkpointHintName(keyId: string): string {
  return `audit-checkpoint:${keyId}`;
}

export interface CheckpointerOptions {
  readonly events: EventLog;
  readonly store: Store;
  readonly key: SigningKey;
  readonly clock: Clock;
  readonly log: Logger;
  /** Checkpoint after this many events (default 1000). */
  readonly every?: number;
  /** ... or after this long, if anything but checkpoints was appended since the last (default 5 min). */
  readonly intervalMs?: number;
}

/**
 * Writes this broker's checkpoints. One at a time; triggers that arrive while one is being written
 * coalesce into the next.
 */
export class Checkpointer {
  private prevSignature: string | null = null;
  /** Seq of this broker's last checkpoint (0: none yet). */
  private lastSeq = 0;
  /** Highest seq seen on the feed, and the highest that was not a checkpoint. */
  private feedHead = 0;
  private lastSubstantive = 0;
  private timer: Timer | null = null;
  private unsubscribe: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  private triggered = false;
  private stopped = false;
  private readonly every: number;
  private readonly intervalMs: number;

  constructor(private readonly o: CheckpointerOptions) {
    this.every = o.every ?? 1_000;
    this.intervalMs = o.intervalMs ?? 300_000;
  }

  /** The store cursor that remembers where this key's last checkpoint is (a hint; the chain is the truth). */
  get hintName(): string {
    return checkpointHintName(this.o.key.keyId);
  }

  async start(): Promise<void> {
    await this.recover();
    const head = await this.o.store.eventHead();
    this.feedHead = head.seq;
    // Unknown without a scan, so assume the events after our last checkpoint need covering.
    this.lastSubstantive = head.seq > this.lastSeq ? head.seq : 0;
    this.unsubscribe = this.o.events.subscribe((e) => this.observe(e));
    this.arm();
  }

  /** Writes a checkpoint now (unless nothing but checkpoints happened since the last). Resolves with it, or null. */
  checkpoint(): Promise<AuditEvent | null> {
    return this.enqueue();
  }

  /** Cancels the triggers and writes the shutdown checkpoint. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    this.unsubscribe?.();
    await this.o.events.settled();
    await this.enqueue().catch((err: unknown) => this.o.log.error({ err }, 'the shutdown checkpoint could not be written'));
  }

  /** One write at a time, in order: each links to the signature the previous one produced. */
  private enqueue(): Promise<AuditEvent | null> {
    const next = this.queue.then(() => this.write());
    this.queue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Finds this key's last checkpoint, starting from the hint cursor (or from the start of the chain). */
  private async recover(): Promise<void> {
    const { store, key, log } = this.o;
    const hint = await store.getCursor(this.hintName);
    let last = await this.scan(Math.max(0, hint - 1));
    if (last === null && hint > 0) {
      log.error({ hint }, `the audit chain no longer holds this broker's last checkpoint (seq ${hint}): it may have been truncated or rewritten; run gatehouse audit verify`);
      last = await this.scan(0);
    }
    if (last !== null) {
      this.prevSignature = String(last.data.signature);
      this.lastSeq = last.seq;
    }
    log.debug({ keyId: key.keyId, lastCheckpoint: this.lastSeq }, 'audit checkpointer ready');
  }

  private async scan(after: number): Promise<AuditEvent | null> {
    let last: AuditEvent | null = null;
    for (;;) {
      const page = await this.o.store.readEvents(after, 1_000, { types: ['audit.checkpoint'] });
      if (page.length === 0) return last;
      for (const e of page) if (e.data.publicKey === this.o.key.publicKeyB64) last = e;
      after = (page[page.length - 1] as AuditEvent).seq;
    }
  }

  private observe(e: AuditEvent): void {
    if (e.seq <= this.feedHead) return;
    this.feedHead = e.seq;
    if (e.type !== 'audit.checkpoint') this.lastSubstantive = e.seq;
    if (this.feedHead - this.lastSeq >= this.every && this.substantive) this.trigger();
  }

  /** Has anything but a checkpoint been appended since our last checkpoint? */
  private get substantive(): boolean {
    return this.lastSubstantive > this.lastSeq;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimer(this.intervalMs, () => {
      this.trigger();
      this.arm();
    });
  }

  /** Coalesces triggers: at most one queued behind the write in progress. */
  private trigger(): void {
    if (this.stopped || this.triggered) return;
    this.triggered = true;
    void this.queue.then(() => {
      this.triggered = false;
      if (this.stopped) return;
      return this.enqueue().then(
        () => undefined,
        (err: unknown) => this.o.log.error({ err }, 'audit checkpoint failed; will retry at the next trigger'),
      );
    });
  }

  private async write(): Promise<AuditEvent | null> {
    if (!this.substantive) return null;
    const { key, events, store } = this.o;
    const prevSignature = this.prevSignature;
    // Signed inside the transaction, against the head the store hands the sealer.
    const sealer: Sealer = (prev, e) => {
      if (e.type !== 'audit.checkpoint') return seal(prev, e);
      const claims: CheckpointClaims = { seq: prev.seq, head: prev.hash, time: e.time, prevSignature };
      return seal(prev, { ...e, data: { seq: prev.seq, head: prev.hash, prevSignature, signature: signCheckpoint(key.privateKey, claims), publicKey: key.publicKeyB64 } });
    };
    const sealed = await events.commit(
      { events: [{ type: 'audit.checkpoint', ctx: { actor: 'gatehouse' }, data: { seq: 0, head: '', prevSignature, signature: '', publicKey: key.publicKeyB64 } }] },
      sealer,
    );
    const cp = sealed[0] as AuditEvent;
    this.prevSignature = String(cp.data.signature);
    this.lastSeq = cp.seq;
    await store.setCursor(this.hintName, cp.seq).catch((err: unknown) => this.o.log.warn({ err }, 'cannot store the checkpoint hint'));
    this.o.log.debug({ seq: cp.seq, covers: cp.data.seq }, 'audit checkpoint written');
    return cp;
  }
}
