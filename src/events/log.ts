/**
 * The event log: validates drafts against the catalogue, commits them with the state change they
 * describe, and feeds every committed event — local or from another broker — to subscribers in
 * sequence order, exactly once each. Subscribers (the monitor, sinks' wake-ups, the web UI) must
 * not throw; a throwing subscriber is logged and skipped, never allowed to stall the feed.
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { GatehouseError } from '../domain/errors.js';
import { newEventId } from '../domain/ids.js';
import type { Sealer, Store, UnitOfWork } from '../store/ports.js';
import { wellFormed } from './canonical.js';
import { CATALOGUE, type EventType } from './catalogue.js';
import { seal } from './chain.js';
import { GroupCommitter } from './group-commit.js';
import type { AuditEvent, EventDraft, UnsealedEvent } from './types.js';

export type EventSubscriber = (event: AuditEvent) => void;

export interface CommitWork extends Omit<UnitOfWork, 'events'> {
  readonly events: readonly EventDraft[];
}

export class EventLog {
  private readonly subscribers = new Set<EventSubscriber>();
  private delivered = 0;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private readonly unsubscribeRemote: () => void;
  private readonly group: GroupCommitter;

  constructor(
    private readonly store: Store,
    private readonly brokerId: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.unsubscribeRemote = store.onRemoteCommit(() => void this.pump());
    this.group = new GroupCommitter(store);
  }

  /** Starts the feed after the current head: subscribers see only events from now on. */
  async start(): Promise<void> {
    this.delivered = (await this.store.eventHead()).seq;
  }

  subscribe(fn: EventSubscriber): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Turns a draft into an unsealed event, validating its payload (throws GH_ERR_INTERNAL if the code emits a bad one). */
  prepare<T extends EventType>(draft: EventDraft<T>): UnsealedEvent {
    const spec = CATALOGUE[draft.type];
    const parsed = spec.data.safeParse(draft.data);
    if (!parsed.success) {
      throw new GatehouseError('GH_ERR_INTERNAL', `event ${draft.type} payload invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    // A lone surrogate (from a JSON body, a terminal) would make the event unhashable (RFC 8785):
    // it becomes U+FFFD, so an odd string can never keep an audit event out of the chain.
    const c = wellFormed(draft.ctx);
    return {
      id: newEventId(),
      time: new Date(draft.at ?? this.clock.now()).toISOString(),
      type: draft.type,
      code: spec.code,
      severity: spec.severity,
      broker: this.brokerId,
      actor: c.actor ?? null,
      user: c.user ?? null,
      target: c.target ?? null,
      grantId: c.grantId ?? null,
      incident: c.incident ?? null,
      sessionId: c.sessionId ?? null,
      source: c.source ?? null,
      data: wellFormed(parsed.data as Record<string, unknown>),
    };
  }

  /**
   * Commits the work and its events in one transaction (grouped with concurrent commits: see
   * group-commit.ts). `sealer` replaces `seal`: audit checkpoints sign the head inside the transaction.
   */
  async commit(work: CommitWork, sealer: Sealer = seal): Promise<AuditEvent[]> {
    const events = work.events.map((d) => this.prepare(d));
    const sealed = await this.group.commit({ ...work, events }, sealer);
    void this.pump();
    return sealed;
  }

  async emit(...drafts: EventDraft[]): Promise<AuditEvent[]> {
    return this.commit({ events: drafts });
  }

  /** Resolves when every event committed so far has been handed to subscribers. */
  async settled(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      do {
        this.pumpAgain = false;
        for (;;) {
          let batch: AuditEvent[];
          try {
            batch = await this.store.readEvents(this.delivered, 500);
          } catch (err) {
            this.log.error({ err }, 'event feed: cannot read the store');
            return;
          }
          if (batch.length === 0) break;
          for (const ev of batch) {
            this.delivered = ev.seq;
            for (const fn of this.subscribers) {
              try {
                fn(ev);
              } catch (err) {
                this.log.error({ err, event: ev.type }, 'event subscriber threw');
              }
            }
          }
        }
      } while (this.pumpAgain);
    })().finally(() => {
      this.pumping = null;
    });
    return this.pumping;
  }

  close(): void {
    this.unsubscribeRemote();
    this.subscribers.clear();
  }
}
