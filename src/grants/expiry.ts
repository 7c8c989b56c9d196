/**
 * Flips active grants to `expired` at their deadline (bookkeeping and the `grant.expired` event),
 * and pending requests at the end of their template's request lifetime.
 * Sessions do not wait for this: the watchdog ends them on its own timer at the same deadline.
 * Every broker arms these timers; the grant's version makes sure only one of them writes.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { Store } from '../store/ports.js';
import type { GrantService } from './service.js';

export class GrantExpiry {
  private readonly timers = new Map<string, Timer>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly grants: GrantService,
    private readonly store: Store,
    private readonly events: EventLog,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.events.subscribe((e) => {
      if (e.grantId === null) return;
      if (e.type === 'grant.activated') {
        this.disarm(e.grantId); // the request timer, if any
        this.arm(e.grantId, Date.parse(String(e.data.expiresAt)));
      } else if (e.type === 'grant.requested') {
        this.arm(e.grantId, Date.parse(e.time) + this.requestTtl(String(e.data.template)));
      } else if (e.type === 'grant.revoked' || e.type === 'grant.expired' || e.type === 'grant.denied') {
        this.disarm(e.grantId);
      }
    });
    for (const g of await this.store.listGrants({ states: ['active', 'pending'], limit: 100_000 })) {
      if (g.state === 'active' && g.expiresAt !== null) this.arm(g.id, g.expiresAt);
      else if (g.state === 'pending') this.arm(g.id, g.requestedAt + this.requestTtl(g.template));
    }
  }

  private requestTtl(template: string): number {
    return this.grants.template(template)?.requestTtlMs ?? 86_400_000;
  }

  private arm(id: string, at: number): void {
    if (this.timers.has(id) || !Number.isFinite(at)) return;
    this.timers.set(
      id,
      this.clock.setTimer(at - this.clock.now(), () => {
        this.timers.delete(id);
        this.grants.expire(id).catch((err: unknown) => this.log.error({ err, grantId: id }, 'cannot mark grant expired'));
      }),
    );
  }

  private disarm(id: string): void {
    this.timers.get(id)?.cancel();
    this.timers.delete(id);
  }

  close(): void {
    this.unsubscribe?.();
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
