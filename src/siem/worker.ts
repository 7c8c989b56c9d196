/**
 * One delivery loop per sink. The store's event log is the outbox (events are committed with the
 * change they describe), and each sink keeps its own cursor there, so:
 *   - delivery is at least once: the cursor moves only after `deliver` resolved;
 *   - a broker restart resumes from the cursor;
 *   - a sink that is down for an hour loses nothing, then catches up in full batches;
 *   - a slow sink only delays itself: each loop is independent and never blocks sessions.
 * Memory stays bounded at one batch per sink whatever the lag; the lag itself lives in the store.
 * When it passes `backlogAlert`, the worker writes a critical `sink.backlog_full` event (once per
 * crossing) and the lag gauge shows it.
 */
import type { Logger } from 'pino';
import type { EventLog } from '../events/log.js';
import type { Store } from '../store/ports.js';
import type { Sink } from './types.js';

export interface WorkerOptions {
  readonly batchSize?: number;
  readonly backlogAlert?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Called after each delivered batch with the sink's lag (events) — for metrics. */
  readonly onLag?: (sink: string, lag: number, lastDeliveredAt: number) => void;
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
    this.cursor = await this.store.getCursor(this.sink.name);
    this.loop = this.run().catch((err) => this.log.error({ err, sink: this.sink.name }, 'sink loop died'));
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

  /** Stops after the batch in flight (bounded wait), leaving the cursor where delivery reached. */
  async stop(drainMs = 2_000): Promise<void> {
    if (drainMs > 0) await Promise.race([this.caughtUp(), sleep(drainMs)]);
    this.stopped = true;
    this.wake();
    this.stopWaiter?.();
    await this.loop;
    await this.sink.close().catch(() => {});
  }

  private async caughtUp(): Promise<void> {
    for (;;) {
      const head = await this.store.eventHead();
      if (this.cursor >= head.seq || this.stopped) return;
      await sleep(20);
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
      await this.store.setCursor(this.sink.name, this.cursor);
      await this.checkBacklog(last.seq);
    }
  }

  /** Retries with exponential backoff and full jitter until delivered or stopped. */
  private async deliver(batch: Parameters<Sink['deliver']>[0]): Promise<boolean> {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 30_000;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.sink.deliver(batch);
        return true;
      } catch (err) {
        const wait = Math.random() * Math.min(max, min * 2 ** Math.min(attempt, 16));
        if (attempt === 0 || attempt % 10 === 0) this.log.warn({ sink: this.sink.name, attempt, err: (err as Error).message, retryInMs: Math.round(wait) }, 'sink delivery failed; retrying');
        await this.backoff(wait);
      }
    }
    return false;
  }

  private async checkBacklog(delivered: number): Promise<void> {
    const head = await this.store.eventHead();
    const lag = head.seq - delivered;
    this.opts.onLag?.(this.sink.name, lag, Date.now());
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
