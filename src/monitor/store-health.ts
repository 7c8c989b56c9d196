/**
 * Fail closed when the store is gone: a broker that cannot write events cannot audit, and a
 * broker that cannot read grants cannot learn of revocations made elsewhere. The store is pinged
 * every second; after `failClosedAfterMs` of continuous failure every live session is ended with
 * reason `store-lost` (the responder is told), and new sessions are refused until it is back.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/ports.js';

export class StoreHealth {
  private timer: NodeJS.Timeout | null = null;
  private failingSince: number | null = null;
  private tripped = false;

  constructor(
    private readonly store: Store,
    private readonly failClosedAfterMs: number,
    private readonly onLost: () => void,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  /** True while the store answers (or has not been failing for long). */
  get healthy(): boolean {
    return !this.tripped;
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    // An answer that comes after the timeout still proves the store reachable: on a stalled event
    // loop the timeout and the answer are due together, and the timeout's callback runs first.
    const ping = this.store.ping().then(() => this.reachable());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ping timed out')), this.intervalMs);
      timer.unref();
    });
    try {
      await Promise.race([ping, timeout]);
    } catch (err) {
      this.failed(err as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private reachable(): void {
    if (this.failingSince !== null) this.log.warn({ downMs: Date.now() - this.failingSince }, 'store reachable again');
    this.failingSince = null;
    this.tripped = false;
  }

  private failed(err: Error): void {
    const now = Date.now();
    this.failingSince ??= now;
    this.log.error({ err: err.message, downMs: now - this.failingSince }, 'store unreachable');
    if (!this.tripped && now - this.failingSince >= this.failClosedAfterMs) {
      this.tripped = true;
      this.log.error('store unreachable past the bound: ending live sessions (fail closed)');
      this.onLost();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
