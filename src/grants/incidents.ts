/**
 * The incident lifecycle around grants: access lives only as long as its incident. When an incident
 * is resolved its pending and active grants are revoked (actor `gatehouse`, reason "incident INC
 * resolved (...)"), and the watchdog ends their sessions on every broker. Two ways to learn of it:
 *
 *   - polling: every `pollInterval` the ticket provider is asked about each incident that still has
 *     pending or active grants (one question per incident, a few at a time);
 *   - the webhook: `POST /hooks/incident` (api/http/hooks.ts) calls `resolve` directly.
 *
 * A provider that cannot answer (down, timeout) leaves the grants alone and is asked again next
 * round: an outage of the ticket system must not cut responders off mid-incident. Several brokers
 * may poll at once; the grant's version makes one revoke win and the others see it already done.
 */
import type { Logger } from 'pino';
import type { TicketProviderConfig } from '../config/load.js';
import type { Clock } from '../domain/clock.js';
import { GatehouseError } from '../domain/errors.js';
import type { Grant } from '../domain/types.js';
import type { Store } from '../store/ports.js';
import { effectiveState } from './rules.js';
import { httpTickets, patternTickets, staticTickets, type TicketProvider } from './tickets.js';

/** The provider the config names, or undefined (any well-formed incident id is accepted). */
export function ticketProviderFrom(c: TicketProviderConfig | null, fetchImpl?: typeof fetch): TicketProvider | undefined {
  if (c === null) return undefined;
  switch (c.kind) {
    case 'static':
      return staticTickets(c.open);
    case 'pattern':
      return patternTickets(c.pattern);
    case 'http':
      return httpTickets({ url: c.url, preset: c.preset, timeoutMs: c.timeoutMs, ...(c.authorization !== undefined && { authorization: c.authorization }), ...(fetchImpl && { fetch: fetchImpl }) });
  }
}

export interface IncidentGrants {
  revoke(caller: string, id: string, reason: string): Promise<Grant>;
}

export interface IncidentWatcherDeps {
  readonly grants: IncidentGrants;
  readonly store: Pick<Store, 'listGrants'>;
  readonly tickets: TicketProvider | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** 0: no polling (the webhook still works). */
  readonly pollIntervalMs: number;
}

export interface Resolution {
  readonly incident: string;
  /** Grants revoked by this call. */
  readonly revoked: readonly string[];
}

const PARALLEL_QUESTIONS = 4;

export class IncidentWatcher {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<Resolution[]> | null = null;

  constructor(private readonly d: IncidentWatcherDeps) {}

  start(): void {
    if (this.d.tickets === undefined || this.d.pollIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.poll(), this.d.pollIntervalMs);
    this.timer.unref();
  }

  /**
   * One polling round: asks the provider about every incident with pending or active grants and
   * resolves the closed ones. Overlapping calls share one round.
   */
  poll(): Promise<Resolution[]> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = null));
    return this.polling;
  }

  private async pollOnce(): Promise<Resolution[]> {
    const tickets = this.d.tickets;
    if (tickets === undefined) return [];
    const open = await this.openGrants().catch((err: unknown) => {
      this.d.log.error({ err }, 'incident poll: cannot list grants');
      return [];
    });
    const incidents = [...new Set(open.map((g) => g.incident))];
    const out: Resolution[] = [];
    for (let i = 0; i < incidents.length; i += PARALLEL_QUESTIONS) {
      const batch = incidents.slice(i, i + PARALLEL_QUESTIONS);
      const answers = await Promise.all(batch.map((inc) => tickets.isOpen(inc).catch(() => null)));
      for (const [j, inc] of batch.entries()) {
        const answer = answers[j];
        if (answer === false) out.push(await this.resolve(inc, 'ticket system'));
        else if (answer === null) this.d.log.warn({ incident: inc }, 'incident poll: the ticket system did not answer; grants kept, asking again next round');
      }
    }
    return out;
  }

  /** Revokes every pending or active grant of the incident. Idempotent. */
  async resolve(incident: string, via: string): Promise<Resolution> {
    const grants = (await this.openGrants(incident)).filter((g) => g.incident === incident);
    const revoked: string[] = [];
    for (const g of grants) {
      try {
        await this.d.grants.revoke('gatehouse', g.id, `incident ${incident} resolved (${via})`);
        revoked.push(g.id);
      } catch (err) {
        if (err instanceof GatehouseError && err.code === 'GH_ERR_GRANT_STATE') continue; // already over
        this.d.log.error({ err, grantId: g.id, incident }, 'cannot revoke the grant of a resolved incident');
      }
    }
    if (revoked.length > 0) this.d.log.info({ incident, via, revoked }, 'incident resolved: grants revoked');
    return { incident, revoked };
  }

  private async openGrants(incident?: string): Promise<Grant[]> {
    const now = this.d.clock.now();
    const grants = await this.d.store.listGrants({ states: ['pending', 'active'], limit: 100_000, ...(incident !== undefined && { incident }) });
    return grants.filter((g) => {
      const s = effectiveState(g, now);
      return s === 'pending' || s === 'active';
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling?.catch(() => undefined);
  }
}
