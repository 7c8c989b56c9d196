/**
 * Verification of the audit trail, the same logic online (pages from the store) and offline (an
 * exported JSONL file): feed events in order to a ChainVerifier, then `finish`. It reports the
 * first broken link by sequence number and kind:
 *
 *   edited              the event's content no longer matches its hash
 *   gap                 events are missing (deleted)
 *   reordered           events are out of order (two swapped, or one moved)
 *   relinked            the event does not link to its predecessor (replaced, or spliced in)
 *   malformed           the event is not a well-formed Gatehouse event
 *   untrusted-signer    a checkpoint is signed by a key the verifier was not told to trust
 *   bad-signature       a checkpoint's signature does not verify
 *   checkpoint-mismatch a checkpoint claims a head other than the event before it
 *   checkpoint-fork     a checkpoint's prevSignature is not its key's previous checkpoint
 *   truncated           the chain ends before an anchor (a checkpoint the SIEM holds), before a
 *                       store cursor (a sink's delivery position, the checkpointer's hint), or
 *                       before the store's head — which adds evidence on PostgreSQL only (a separate
 *                       `chain_head` row); SQLite derives its head from the events table, so
 *                       deleting the tail moves it too
 *   rewritten           the chain reaches the anchor's sequence but holds a different event there
 *   anchor-out-of-range the anchor precedes the verified range, so it cannot be checked
 *
 * Single events on their own (shape, hash, checkpoint signature) are checked in verify-event.ts.
 * Recording files are checked separately (verify-report.ts `verifyRecordings`) against the `recording.closed`
 * events that verified. Exact duplicates (same seq and hash, as at-least-once sinks may write) are
 * skipped and counted. Memory is bounded: a window of recent hashes, one entry per signing key,
 * and one entry per recording.
 */
import type { KeyObject } from 'node:crypto';
import { GENESIS } from './chain.js';
import type { AuditEvent, ChainHead } from './types.js';
import { checkpointProblem, eventShapeProblem, hashOf, safeKeyId } from './verify-event.js';

export { anchorProblem, eventShapeProblem } from './verify-event.js';

export type BreakKind =
  | 'edited'
  | 'gap'
  | 'reordered'
  | 'relinked'
  | 'malformed'
  | 'untrusted-signer'
  | 'bad-signature'
  | 'checkpoint-mismatch'
  | 'checkpoint-fork'
  | 'truncated'
  | 'rewritten'
  | 'anchor-out-of-range';

export interface AuditBreak {
  readonly seq: number;
  readonly kind: BreakKind;
  readonly detail: string;
}

export interface RecordingClaim {
  readonly seq: number;
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface RecordingProblem extends RecordingClaim {
  readonly problem: 'missing' | 'mismatch';
  readonly actualSha256: string | null;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** First and last sequence numbers verified (null when there were none). */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly headHash: string | null;
  readonly events: number;
  /** Exact repeats of an event already verified (at-least-once delivery), skipped. */
  readonly duplicates: number;
  readonly checkpoints: { readonly count: number; readonly lastSeq: number | null; readonly signers: readonly string[] };
  /** Events after the last verified checkpoint: a truncation there is only detectable with an anchor. */
  readonly unanchoredTail: number;
  readonly anchor: { readonly seq: number; readonly covers: number; readonly keyId: string; readonly matched: boolean } | null;
  readonly break: AuditBreak | null;
  readonly recordings: { readonly checked: number; readonly problems: readonly RecordingProblem[] };
}

export interface VerifierOptions {
  /** Keys whose checkpoints are trusted. A checkpoint signed by any other key is a break. */
  readonly trustedKeys: readonly KeyObject[];
  /**
   * Where the verified range must start: GENESIS (the default) for a whole chain, so a missing first
   * event is a gap; or `{ from: N }` for a range that starts at seq N, whose first prevHash is taken
   * on trust (checkpoint links to keys not yet seen in the range are taken on trust too).
   */
  readonly from?: number;
  /** A checkpoint event held outside the store (the SIEM's copy); checked with `checkAnchor` first. */
  readonly anchor?: AuditEvent;
}

/** How many recent seq→hash pairs are kept to recognise duplicates and late (reordered) events. */
const WINDOW = 4_096;

export class ChainVerifier {
  private head: ChainHead | null;
  private firstSeq: number | null = null;
  private count = 0;
  private duplicates = 0;
  private broken: AuditBreak | null = null;
  /** A link failure waiting one event to tell a swap (reordered) from a replacement (relinked). */
  private deferred: { event: AuditEvent; head: ChainHead } | null = null;
  /** An event arrived ahead of its turn; if the missing one turns up within WINDOW events, it is a reorder, else a gap. */
  private ahead: { expected: number; first: number; seen: number } | null = null;
  private readonly recent = new Map<number, string>();
  private readonly lastSigByKey = new Map<string, string>();
  private readonly signers = new Set<string>();
  private checkpoints = 0;
  private lastCheckpoint: number | null = null;
  private anchorMatched = false;
  private readonly claims = new Map<string, RecordingClaim>();
  private readonly wholeChain: boolean;
  private readonly expectedFirst: number;

  constructor(private readonly opts: VerifierOptions) {
    this.expectedFirst = Math.max(1, opts.from ?? 1);
    this.wholeChain = this.expectedFirst === 1;
    this.head = this.wholeChain ? GENESIS : null;
  }

  get failed(): boolean {
    return this.broken !== null;
  }

  /** The `recording.closed` claims of the verified events (last claim per path). */
  get recordingClaims(): RecordingClaim[] {
    return [...this.claims.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Feeds the next event (or raw parsed JSON, from a file). Returns false once the chain is broken. */
  push(value: unknown): boolean {
    if (this.broken) return false;
    const problem = eventShapeProblem(value);
    if (this.deferred) {
      const d = this.deferred;
      this.deferred = null;
      // Position k holds the event that should follow the next one, and the next one links to
      // k-1: the two were swapped. Anything else is a replaced or spliced event.
      const next = problem === null ? (value as AuditEvent) : null;
      const swapped = next !== null && next.hash === d.event.prevHash && next.prevHash === d.head.hash;
      return this.fail(swapped ? { seq: d.event.seq, kind: 'reordered', detail: `events ${d.event.seq} and ${d.event.seq + 1} are swapped` } : this.relinked(d));
    }
    if (problem !== null) {
      const seq = typeof (value as { seq?: unknown })?.seq === 'number' ? (value as { seq: number }).seq : (this.head?.seq ?? this.expectedFirst - 1) + 1;
      return this.fail({ seq, kind: 'malformed', detail: problem });
    }
    const e = value as AuditEvent;
    if (this.head === null) {
      if (e.seq !== this.expectedFirst) return this.fail({ seq: this.expectedFirst, kind: e.seq > this.expectedFirst ? 'gap' : 'reordered', detail: `the range should start at ${this.expectedFirst} but starts at ${e.seq}` });
      this.head = { seq: e.seq - 1, hash: e.prevHash };
    }
    const head = this.head;
    if (e.seq <= head.seq) {
      if (this.recent.get(e.seq) === e.hash) {
        this.duplicates++;
        return true;
      }
      return this.fail({ seq: e.seq, kind: 'reordered', detail: `event ${e.seq} comes after event ${head.seq}` });
    }
    if (e.seq !== head.seq + 1) {
      this.ahead ??= { expected: head.seq + 1, first: e.seq, seen: 0 };
      if (++this.ahead.seen > WINDOW) return this.fail(this.gap());
      return true;
    }
    if (this.ahead) return this.fail({ seq: this.ahead.expected, kind: 'reordered', detail: `event ${this.ahead.first} comes before event ${this.ahead.expected}` });
    if (e.prevHash !== head.hash) {
      this.deferred = { event: e, head };
      return true;
    }
    const { prevHash: _p, hash: _h, ...body } = e;
    const hash = hashOf(head.hash, body);
    if (hash === null) return this.fail({ seq: e.seq, kind: 'malformed', detail: `event ${e.seq} has a string with a lone surrogate, which canonical JSON (RFC 8785) cannot hold` });
    if (hash !== e.hash) return this.fail({ seq: e.seq, kind: 'edited', detail: `event ${e.seq} does not match its hash` });
    if (e.type === 'audit.checkpoint') {
      const bad = this.checkpoint(e);
      if (bad) return this.fail(bad);
    }
    if (e.type === 'recording.closed') {
      const d = e.data as { path?: unknown; sha256?: unknown; bytes?: unknown };
      if (typeof d.path === 'string' && typeof d.sha256 === 'string') this.claims.set(d.path, { seq: e.seq, path: d.path, sha256: d.sha256, bytes: Number(d.bytes) });
    }
    const anchor = this.opts.anchor;
    if (anchor !== undefined && e.seq === anchor.seq) {
      if (e.hash !== anchor.hash) return this.fail({ seq: e.seq, kind: 'rewritten', detail: `event ${e.seq} differs from the anchor the SIEM holds (hash ${e.hash.slice(0, 12)}, anchor ${anchor.hash.slice(0, 12)})` });
      this.anchorMatched = true;
    }
    this.firstSeq ??= e.seq;
    this.count++;
    this.head = { seq: e.seq, hash: e.hash };
    this.recent.set(e.seq, e.hash);
    if (this.recent.size > WINDOW) this.recent.delete(e.seq - WINDOW);
    return true;
  }

  /** Fails the verification at the next expected seq (input that is not an event at all, such as a line that is not JSON). */
  reject(detail: string): false {
    this.settle();
    return this.fail({ seq: (this.head?.seq ?? this.expectedFirst - 1) + 1, kind: 'malformed', detail });
  }

  /** Decides a pending relink or out-of-order event: the input ended, so no later event can explain it. */
  private settle(): void {
    if (!this.broken && this.deferred) {
      const d = this.deferred;
      this.deferred = null;
      this.fail(this.relinked(d));
    }
    if (!this.broken && this.ahead) this.fail(this.gap());
  }

  /**
   * Ends the input. `storeHead` (the store's head) and `cursors` (sinks' delivery positions) are
   * extra truncation evidence in online mode. The head counts only where the store keeps it apart
   * from the events (PostgreSQL's `chain_head` row); SQLite reads it from the last event row, so
   * deleting the tail moves it too, and there only the cursors and the anchor catch a truncation.
   */
  finish(extra: { storeHead?: ChainHead; cursors?: Readonly<Record<string, number>> } = {}): VerifyReport {
    this.settle();
    const last = this.head?.seq ?? this.expectedFirst - 1;
    const anchor = this.opts.anchor;
    if (!this.broken && anchor !== undefined && !this.anchorMatched) {
      if (anchor.seq > last) this.fail({ seq: last + 1, kind: 'truncated', detail: `the chain ends at ${last}, but the anchor the SIEM holds is checkpoint ${anchor.seq}` });
      else this.fail({ seq: anchor.seq, kind: 'anchor-out-of-range', detail: `the anchor (checkpoint ${anchor.seq}) precedes the verified range (from ${this.firstSeq ?? this.expectedFirst})` });
    }
    if (!this.broken && extra.storeHead && extra.storeHead.seq > last) {
      this.fail({ seq: last + 1, kind: 'truncated', detail: `the chain ends at ${last}, but the store's head says ${extra.storeHead.seq}` });
    }
    if (!this.broken && extra.cursors) {
      for (const [sink, seq] of Object.entries(extra.cursors)) {
        if (seq > last) {
          this.fail({ seq: last + 1, kind: 'truncated', detail: `the chain ends at ${last}, but sink ${sink} has delivered up to ${seq}` });
          break;
        }
      }
    }
    return {
      ok: this.broken === null,
      firstSeq: this.firstSeq,
      lastSeq: this.count > 0 ? (this.head?.seq ?? null) : null,
      headHash: this.count > 0 ? (this.head?.hash ?? null) : null,
      events: this.count,
      duplicates: this.duplicates,
      checkpoints: { count: this.checkpoints, lastSeq: this.lastCheckpoint, signers: [...this.signers] },
      unanchoredTail: this.count > 0 ? last - (this.lastCheckpoint ?? (this.firstSeq ?? 1) - 1) : 0,
      anchor: anchor === undefined ? null : { seq: anchor.seq, covers: Number(anchor.data.seq), keyId: safeKeyId(String(anchor.data.publicKey)), matched: this.anchorMatched },
      break: this.broken,
      recordings: { checked: 0, problems: [] },
    };
  }

  private relinked(d: { event: AuditEvent; head: ChainHead }): AuditBreak {
    const since = this.lastCheckpoint === null ? '' : `; the last good checkpoint is ${this.lastCheckpoint}`;
    return { seq: d.event.seq, kind: 'relinked', detail: `event ${d.event.seq} does not link to event ${d.head.seq} (one of them was replaced or rehashed${since})` };
  }

  private gap(): AuditBreak {
    const a = this.ahead as { expected: number; first: number };
    return { seq: a.expected, kind: 'gap', detail: a.first - 1 > a.expected ? `events ${a.expected}..${a.first - 1} are missing` : `event ${a.expected} is missing` };
  }

  private checkpoint(e: AuditEvent): AuditBreak | null {
    const problem = checkpointProblem(e, this.opts.trustedKeys);
    if (problem) return { seq: e.seq, kind: problem.kind, detail: this.lastCheckpoint === null ? problem.detail : `${problem.detail}; the last good checkpoint is ${this.lastCheckpoint}` };
    const d = e.data as { publicKey: string; signature: string; prevSignature: string | null };
    const known = this.lastSigByKey.get(d.publicKey);
    // From genesis every key's first checkpoint has prevSignature null; in a partial range a key's
    // first checkpoint links to something before the range, taken on trust.
    const expected = known ?? (this.wholeChain ? null : d.prevSignature);
    if (d.prevSignature !== expected) {
      return { seq: e.seq, kind: 'checkpoint-fork', detail: `checkpoint ${e.seq} does not follow its key's previous checkpoint${known === undefined ? ' (there is none)' : ''}` };
    }
    this.lastSigByKey.set(d.publicKey, d.signature);
    this.signers.add(safeKeyId(d.publicKey));
    this.checkpoints++;
    this.lastCheckpoint = e.seq;
    return null;
  }

  private fail(b: AuditBreak): false {
    this.broken ??= b;
    return false;
  }
}
