/**
 * Commands held for review: a `review` decision waits until a watcher approves or rejects it, or
 * until the template's review timeout (then it is denied — fail closed). The decision travels as a
 * `command.reviewed` event, so a watcher may decide through any broker: the broker holding the
 * command sees the event on its feed (LISTEN/NOTIFY with PostgreSQL) and releases or drops it.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { EventContext } from '../events/types.js';
import type { Decision } from '../policy/index.js';

export type ReviewOutcome = 'approved' | 'rejected' | 'timeout';

interface Pending {
  readonly resolve: (o: { outcome: ReviewOutcome; by: string | null; note: string | null }) => void;
  readonly timer: Timer;
}

export class ReviewQueue {
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.unsubscribe = events.subscribe((e) => {
      if (e.type !== 'command.reviewed') return;
      const id = String(e.data.reviewId);
      const p = this.pending.get(id);
      if (p === undefined) return;
      this.pending.delete(id);
      p.timer.cancel();
      p.resolve({ outcome: e.data.outcome as ReviewOutcome, by: e.actor, note: (e.data.note as string | null) ?? null });
    });
  }

  /** Writes `command.review` and waits for the outcome. Never rejects. */
  async hold(ctx: EventContext, command: string, decision: Decision, mode: 'exec' | 'interactive', timeoutMs: number): Promise<{ outcome: ReviewOutcome; by: string | null; note: string | null }> {
    const reviewId = randomUUID();
    const result = new Promise<{ outcome: ReviewOutcome; by: string | null; note: string | null }>((resolve) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        void this.events
          .emit({ type: 'command.reviewed', ctx: { ...ctx, actor: 'gatehouse' }, data: { reviewId, command, outcome: 'timeout', by: null, note: null } })
          .catch((err: unknown) => {
            this.log.error({ err }, 'cannot record the review timeout; denying anyway');
            this.pending.delete(reviewId);
            resolve({ outcome: 'timeout', by: null, note: null });
          });
      });
      this.pending.set(reviewId, { resolve, timer });
    });
    try {
      await this.events.emit({ type: 'command.review', ctx, data: { reviewId, command, reasons: decision.reasons, mode, timeoutMs } });
    } catch (err) {
      this.log.error({ err }, 'cannot record the review request; denying');
      this.pending.get(reviewId)?.timer.cancel();
      this.pending.delete(reviewId);
      return { outcome: 'timeout', by: null, note: null };
    }
    return result;
  }

  /** Reviews waiting on this broker (for tests and metrics). */
  get size(): number {
    return this.pending.size;
  }

  /** Drops every pending review as `timeout` (shutdown): nothing held is ever released unreviewed. */
  close(): void {
    this.unsubscribe();
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.resolve({ outcome: 'timeout', by: null, note: null });
    }
    this.pending.clear();
  }
}
