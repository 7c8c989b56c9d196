/**
 * Audit and SIEM RPCs: WatchEvents (pull-based SIEM consumers), ExportEvents, VerifyAudit,
 * GetAuditKey. Roles: auditor and admin for all; watcher too for WatchEvents, since watchers follow
 * live activity anyway. Any authenticated caller may read the public key.
 *
 * Streams read from the store, which is the single source of order: the live feed
 * (EventLog.subscribe) only wakes a stream up, so a stream never skips or repeats an event whatever
 * the timing between replay and live. `call.write` returning false pauses the stream until
 * 'drain' (backpressure): a slow consumer costs one page of memory, never the broker.
 */
import type * as grpc from '@grpc/grpc-js';
import type { KeyObject } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { z } from 'zod';
import { GatehouseError } from '../../domain/errors.js';
import type { Role } from '../../domain/types.js';
import { storedEvents, verifyStore } from '../../events/audit-store.js';
import type { SigningKey } from '../../events/signing-key.js';
import { parseAnchor } from '../../events/export.js';
import type { EventLog } from '../../events/log.js';
import type { AuditEvent } from '../../events/types.js';
import { anchorProblem, type VerifyReport } from '../../events/verify.js';
import { hashFile } from '../../recording/writer.js';
import { eventFilter } from '../../siem/filter.js';
import type { Store } from '../../store/ports.js';
import { parseRequest, type CallContext, type StreamHandler, type UnaryHandler } from './context.js';

export interface AuditDeps {
  readonly key: SigningKey;
  /** Keys whose checkpoints verify: this broker's and `audit.trustedKeys`. */
  readonly trustedKeys: readonly KeyObject[];
  readonly recordingsDir: string;
  /** Cursors the chain must reach: the sinks' and the checkpointer's hint. */
  readonly cursorNames: readonly string[];
  /** Aborted at shutdown: open streams end. */
  readonly signal: AbortSignal;
}

const AUDITORS: readonly Role[] = ['auditor', 'admin'];
const WATCHERS: readonly Role[] = ['auditor', 'admin', 'watcher'];
const PAGE = 500;

function requireRole(ctx: CallContext, roles: readonly Role[]): void {
  if (!roles.some((r) => ctx.user.roles.includes(r))) throw new GatehouseError('GH_ERR_FORBIDDEN', `${ctx.user.name} needs one of the roles: ${roles.join(', ')}`);
}

const seqField = z.number().int().min(0);
const watchRequest = z.object({
  /** -1: start at the current head (live events only). */
  fromSequence: z.number().int().min(-1),
  types: z.array(z.string().min(1).max(64)).max(50),
  minSeverity: z.union([z.literal(''), z.enum(['info', 'notice', 'warning', 'critical'])]),
});

export function record(e: AuditEvent): Record<string, unknown> {
  return { seq: e.seq, id: e.id, type: e.type, json: JSON.stringify(e) };
}

export function reportToWire(r: VerifyReport): Record<string, unknown> {
  return {
    ok: r.ok,
    ...(r.break && { firstBreak: { seq: r.break.seq, kind: r.break.kind, detail: r.break.detail } }),
    events: r.events,
    lastSeq: r.lastSeq ?? 0,
    headHash: r.headHash ?? '',
    checkpoints: r.checkpoints.count,
    recordingsChecked: r.recordings.checked,
    recordingProblems: r.recordings.problems.length,
    json: JSON.stringify(r),
  };
}

export function createAuditHandlers(d: { readonly store: Store; readonly events: EventLog; readonly audit: AuditDeps }): { unary: Record<string, UnaryHandler>; stream: Record<string, StreamHandler> } {
  const { store, events, audit } = d;

  /** Writes stored events after `after` to the call; follows the live feed when `follow`. */
  async function pump(call: grpc.ServerWritableStream<unknown, unknown>, after: number, accepts: (e: AuditEvent) => boolean, follow: boolean, toSeq?: number): Promise<void> {
    let wake: (() => void) | null = null;
    let pending = false;
    const poke = (): void => {
      pending = true;
      const w = wake;
      wake = null;
      w?.();
    };
    const unsubscribe = follow ? events.subscribe(poke) : () => {};
    // Cancelled: stop now. Broker shutting down: send what is stored (the shutdown checkpoint), then end.
    const gone = (): boolean => call.cancelled || call.destroyed;
    const done = (): boolean => gone() || (audit.signal.aborted && !follow);
    call.on('cancelled', poke);
    audit.signal.addEventListener('abort', poke);
    try {
      let cursor = after;
      while (!done()) {
        pending = false;
        const page = await store.readEvents(cursor, PAGE);
        for (const e of page) {
          if (toSeq !== undefined && e.seq > toSeq) return;
          cursor = e.seq;
          if (!accepts(e)) continue;
          if (!call.write(record(e))) await drained(call, audit.signal);
          if (gone()) return;
        }
        if (page.length > 0) {
          await yieldToIo(); // a long replay must not starve sessions' I/O (SQLite reads are synchronous)
          continue;
        }
        if (!follow || audit.signal.aborted) return;
        if (!pending) {
          // The feed wakes us; the timeout is a safety net only (a missed wake-up costs a second).
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 1_000);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
      }
    } finally {
      unsubscribe();
      call.off('cancelled', poke);
      audit.signal.removeEventListener('abort', poke);
    }
  }

  const unary: Record<string, UnaryHandler> = {
    getAuditKey: async () => ({ publicKeyPem: audit.key.publicKeyPem, keyId: audit.key.keyId }),

    verifyAudit: async (ctx, req) => {
      requireRole(ctx, AUDITORS);
      const r = parseRequest(z.object({ anchorJson: z.string().max(1_000_000), skipRecordings: z.boolean() }), req);
      let anchor: AuditEvent | undefined;
      if (r.anchorJson.trim() !== '') {
        anchor = parseAnchor(r.anchorJson);
        const problem = anchorProblem(anchor, audit.trustedKeys);
        if (problem !== null) throw new GatehouseError('GH_ERR_BAD_INPUT', `the anchor is not a valid checkpoint: ${problem}`);
      }
      const report = await verifyStore(store, {
        trustedKeys: audit.trustedKeys,
        anchor,
        cursorNames: audit.cursorNames,
        recordings: r.skipRecordings ? undefined : { dir: audit.recordingsDir, hashFile },
      });
      return reportToWire(report);
    },
  };

  const stream: Record<string, StreamHandler> = {
    watchEvents: async (ctx, req, call) => {
      requireRole(ctx, WATCHERS);
      const r = parseRequest(watchRequest, req);
      let accepts: (e: AuditEvent) => boolean;
      try {
        accepts = eventFilter(r.types.length > 0 ? r.types : undefined, r.minSeverity === '' ? undefined : r.minSeverity);
      } catch (err) {
        throw new GatehouseError('GH_ERR_BAD_INPUT', `types: ${(err as Error).message}`);
      }
      const from = r.fromSequence < 0 ? (await store.eventHead()).seq : r.fromSequence;
      await pump(call, from, accepts, true);
    },

    exportEvents: async (ctx, req, call) => {
      requireRole(ctx, AUDITORS);
      const r = parseRequest(z.object({ fromSequence: seqField }), req);
      const head = await store.eventHead();
      await pump(call, r.fromSequence, () => true, false, head.seq);
    },
  };
  return { unary, stream };
}

function drained(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      call.off('drain', finish);
      call.off('cancelled', finish);
      call.off('close', finish);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    call.on('drain', finish);
    call.on('cancelled', finish);
    call.on('close', finish);
    signal.addEventListener('abort', finish);
  });
}
