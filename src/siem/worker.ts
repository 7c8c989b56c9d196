/**
 * One delivery loop per sink. The store's event log is the outbox (events are committed with the
 * change they describe), and each sink keeps its own cursor there, so:
 *   - delivery is at least once: the cursor moves only after `deliver` resolved;
 *   - a broker restart resumes from the cursor;
 *   - a sink that is down for an hour loses nothing, then catches up in full batches;
 *   - a slow sink only delays itself: each loop is independent and never blocks sessions.
 * Memory stays bounded at one batch per sink whatever the lag; the lag itself lives in the store,
 * which never drops an undelivered event. When the lag reaches `backlogAlert` (checked after every
 * batch and every failed attempt), the worker writes a critical `sink.backlog_full` event (once per
 * crossing; re-armed when the lag falls below half) and the lag gauge shows it.
 * Retries back off exponentially from `minBackoffMs` to `maxBackoffMs` with full jitter (backoff.ts);
 * a DeliveryError can ask for a later retry (Retry-After) or mark a configuration error (`permanent`:
 * retried at the maximum backoff, logged at error level each time).
 * The loop outlives store hiccups: a failed cursor write is retried with the same backoff before
 * the next batch (the lag gauge and the backlog alarm are still checked on every failed attempt), a
 * throwing `onDelivered`/`onLag` is logged and ignored, and anything else that escapes the loop
 * restarts it after `restartDelayMs` — a sink never goes quiet until the next broker restart.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../events/log.js';
import type { Store } from '../store/ports.js';
import type { AuditEvent } from '../events/types.js';
import { backoffDelay, retryDelay } from './backoff.js';
import { DeliveryError, type Sink } from './types.js';

export interface WorkerOptions {
  readonly batchSize?: number;
  readonly backlogAlert?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Called after each delivered batch and each failed attempt with the sink's lag (events) — for metrics. */
  readonly onLag?: (sink: string, lag: number, lastDeliveredAt: number) => void;
  /** The store key of the cursor; default the sink's name (siem/index.ts `sinkCursorKey`). */
  readonly cursorKey?: string;
  /** Called after each delivered batch (benchmarks, metrics). */
  readonly onDelivered?: (sink: string, batch: readonly AuditEvent[], at: number) => void;
  /** How long the loop waits before restarting after an unexpected failure; default 1 s. */
  readonly restartDelayMs?: number;
}

export class SinkWorker {
  private cursor = 0;
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  private loop: Promise<void> | null = null;
  private alerting = false;
  private stopWaiter: (() => void) | null = null;
  private readonly batchSize: number;
  private readonly backlogAlert: number;

  constructor(
    readonly sink: Sink,
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly log: Logger,
    private readonly opts: WorkerOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.backlogAlert = opts.backlogAlert ?? 100_000;
  }

  async start(): Promise<void> {
    this.cursor = await this.store.getCursor(this.cursorKey);
    this.loop = this.supervise();
  }

  /** New events exist: deliver them. Cheap and idempotent. */
  wake(): void {
    this.pendingWake = true;
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  get position(): number {
    return this.cursor;
  }

  /** The store key of this sink's cursor (`cursorKey`, default the sink's name). */
  get cursorKey(): string {
    return this.opts.cursorKey ?? this.sink.name;
  }

  /**
   * Gives the sink up to `drainMs` to catch up, then stops: a batch still in flight gets a moment
   * to finish before the sink is closed under it (its cursor then stays, and it is sent again).
   */
  async stop(drainMs = 2_000): Promise<void> {
    if (drainMs > 0) await Promise.race([this.caughtUp().catch(() => {}), sleep(drainMs)]);
    this.stopped = true;
    this.wake();
    this.stopWaiter?.();
    await Promise.race([this.loop, sleep(1_000)]);
    await this.sink.close().catch(() => {});
    // A sink whose deliver ignores close() must not hold shutdown hostage; its cursor stays put.
    await Promise.race([this.loop, sleep(2_000)]);
  }

  private async caughtUp(): Promise<void> {
    for (;;) {
      const head = await this.store.eventHead();
      if (this.cursor >= head.seq || this.stopped) return;
      await sleep(20);
    }
  }

  /**
   * Runs the delivery loop until stop(), restarting it after `restartDelayMs` when something escapes
   * it. The cursor in memory is kept across a restart: what was delivered is not sent again.
   */
  private async supervise(): Promise<void> {
    const delay = this.opts.restartDelayMs ?? 1_000;
    while (!this.stopped) {
      try {
        await this.run();
      } catch (err) {
        if (this.stopped) return;
        this.log.error({ err, sink: this.sink.name, restartInMs: delay }, 'sink loop failed; restarting it');
        await this.checkBacklog(this.cursor).catch(() => {});
        await this.backoff(delay);
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.pendingWake = false;
      const batch = await this.store.readEvents(this.cursor, this.batchSize).catch((err: unknown) => {
        this.log.error({ err, sink: this.sink.name }, 'sink cannot read events');
        return null;
      });
      if (batch === null) {
        await sleep(1_000);
        continue;
      }
      if (batch.length === 0) {
        await this.idle();
        continue;
      }
      const wanted = batch.filter((e) => this.sink.accepts(e));
      if (wanted.length > 0 && !(await this.deliver(wanted))) return;
      const last = batch[batch.length - 1] as (typeof batch)[number];
      this.cursor = last.seq;
      if (wanted.length > 0) this.notifyDelivered(wanted);
      if (!(await this.saveCursor())) return;
      await this.checkBacklog(last.seq).catch((err: unknown) => this.log.error({ err, sink: this.sink.name }, 'sink backlog check failed'));
    }
  }

  /** Retries with exponential backoff and full jitter until delivered or stopped. */
  private async deliver(batch: Parameters<Sink['deliver']>[0]): Promise<boolean> {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.sink.deliver(batch);
        if (attempt > 0) this.log.info({ sink: this.sink.name, attempts: attempt + 1 }, 'sink delivering again');
        return true;
      } catch (err) {
        if (this.stopped) return false;
        const advice = err instanceof DeliveryError ? err : null;
        const wait = retryDelay(attempt, advice, min, max);
        const fields = { sink: this.sink.name, attempt, err: (err as Error).message, retryInMs: Math.round(wait) };
        if (advice?.permanent) this.log.error(fields, 'sink rejects the events: configuration error; retrying at the maximum backoff, nothing is dropped');
        else if (attempt === 0 || attempt % 10 === 0) this.log.warn(fields, 'sink delivery failed; retrying');
        await this.checkBacklog(this.cursor).catch(() => {});
        await this.backoff(wait);
      }
    }
    return false;
  }

  /**
   * Stores the cursor, retrying with backoff until it sticks or stop(): a transient store error
   * (SQLITE_BUSY, a PostgreSQL failover) must not end delivery. Resolves false when stopped first;
   * the stored cursor is then behind, and the batch is sent again at the next start.
   */
  private async saveCursor(): Promise<boolean> {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.store.setCursor(this.cursorKey, this.cursor);
        if (attempt > 0) this.log.info({ sink: this.sink.name, attempts: attempt + 1 }, 'sink cursor stored again');
        return true;
      } catch (err) {
        if (this.stopped) return false;
        const wait = backoffDelay(attempt, min, max);
        if (attempt === 0 || attempt % 10 === 0) this.log.error({ err, sink: this.sink.name, attempt, retryInMs: Math.round(wait) }, 'sink cannot store its cursor; retrying');
        await this.checkBacklog(this.cursor).catch(() => {});
        await this.backoff(wait);
      }
    }
    return false;
  }

  /** `onDelivered` is for metrics and benchmarks: its failure must never stop delivery. */
  private notifyDelivered(batch: readonly AuditEvent[]): void {
    try {
      this.opts.onDelivered?.(this.sink.name, batch, Date.now());
    } catch (err) {
      this.log.error({ err, sink: this.sink.name }, 'sink onDelivered hook threw; ignored');
    }
  }

  private async checkBacklog(delivered: number): Promise<void> {
    const head = await this.store.eventHead();
    const lag = head.seq - delivered;
    try {
      this.opts.onLag?.(this.sink.name, lag, Date.now());
    } catch (err) {
      this.log.error({ err, sink: this.sink.name }, 'sink onLag hook threw; ignored');
    }
    if (lag >= this.backlogAlert && !this.alerting) {
      this.alerting = true;
      this.log.error({ sink: this.sink.name, lag }, 'sink backlog past its limit');
      await this.events.emit({ type: 'sink.backlog_full', ctx: { actor: 'gatehouse' }, data: { sink: this.sink.name, backlog: lag, limit: this.backlogAlert } });
    } else if (lag < this.backlogAlert / 2) {
      this.alerting = false;
    }
  }

  /** Sleeps `ms`, cut short only by stop() (new events must not shorten a backoff). */
  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopWaiter = null;
        resolve();
      }, ms);
      this.stopWaiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Waits for a wake-up (new events) or `ms`, whichever is first. */
  private idle(ms = 5_000): Promise<void> {
    if (this.pendingWake || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
