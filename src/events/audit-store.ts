/**
 * Online verification and export: the same ChainVerifier, fed from the store in pages. Before the
 * first page it reads the store's head and the named cursors (sinks' delivery positions, the
 * checkpointer's hint), so events appended while it reads cannot be mistaken for evidence of
 * truncation, while a chain cut below any of them is reported. (The head is independent evidence
 * only on PostgreSQL; SQLite derives it from the events table: see ChainVerifier.finish.)
 */
import type { KeyObject } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Store } from '../store/ports.js';
import type { AuditEvent } from './types.js';
import { ChainVerifier, type VerifyReport } from './verify.js';
import { verifyRecordings } from './verify-report.js';

export interface StoreVerifyOptions {
  readonly trustedKeys: readonly KeyObject[];
  readonly anchor?: AuditEvent | undefined;
  /** Cursors whose positions the chain must reach (sink names, the checkpoint hint). */
  readonly cursorNames?: readonly string[];
  /** Re-hash recordings under this directory (omit to skip). */
  readonly recordings?: { readonly dir: string; readonly hashFile: (path: string) => Promise<{ sha256: string; bytes: number }> } | undefined;
  readonly pageSize?: number;
}

export async function verifyStore(store: Store, o: StoreVerifyOptions): Promise<VerifyReport> {
  const storeHead = await store.eventHead();
  const cursors: Record<string, number> = {};
  for (const name of o.cursorNames ?? []) cursors[name] = await store.getCursor(name);
  const v = new ChainVerifier({ trustedKeys: o.trustedKeys, ...(o.anchor !== undefined && { anchor: o.anchor }) });
  let after = 0;
  for (;;) {
    const page = await store.readEvents(after, o.pageSize ?? 1_000);
    if (page.length === 0) break;
    let going = true;
    for (const e of page) if (!(going = v.push(e))) break;
    if (!going) break;
    after = (page[page.length - 1] as AuditEvent).seq;
    // SQLite reads are synchronous: let sessions' I/O run between pages of a long verification.
    await yieldToIo();
  }
  const report = v.finish({ storeHead, cursors });
  return o.recordings ? verifyRecordings(report, v.recordingClaims, o.recordings.dir, o.recordings.hashFile) : report;
}

/** Stored events with seq > afterSeq (and ≤ toSeq when given), page by page. */
export async function* storedEvents(store: Store, afterSeq: number, toSeq?: number, pageSize = 1_000): AsyncGenerator<AuditEvent> {
  let after = afterSeq;
  for (;;) {
    const page = await store.readEvents(after, pageSize);
    if (page.length === 0) return;
    for (const e of page) {
      if (toSeq !== undefined && e.seq > toSeq) return;
      yield e;
    }
    after = (page[page.length - 1] as AuditEvent).seq;
    await yieldToIo();
  }
}
