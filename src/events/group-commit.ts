/**
 * Group commit for the event log. While one store transaction is in flight, further commits queue
 * and then go into the next transaction together, so concurrent writers share one round trip (and,
 * on PostgreSQL, one hold of the chain-head lock) instead of queueing on it one by one. A lone
 * commit goes straight through: no timer, no added latency.
 *
 * What does not change: each unit of work is still all-or-nothing with the events that describe it
 * (a group is one transaction, a superset of each unit); a commit called after another resolved
 * gets later sequence numbers (a group only ever holds calls that were concurrent); each caller
 * gets exactly its own sealed events. If a grouped transaction fails (one unit's optimistic
 * version check, say), every unit of the group is retried alone, so a unit fails only for its own
 * reason — exactly as it would have without grouping.
 */
import type { Sealer, Store, UnitOfWork } from '../store/ports.js';
import { seal } from './chain.js';
import type { AuditEvent } from './types.js';

interface Pending {
  readonly work: UnitOfWork;
  readonly sealer: Sealer;
  resolve(events: AuditEvent[]): void;
  reject(err: unknown): void;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private draining = false;

  /** `maxEvents`: a group stops growing at this many events (it always takes at least one unit). */
  constructor(
    private readonly store: Store,
    private readonly maxEvents = 1_000,
  ) {}

  commit(work: UnitOfWork, sealer: Sealer = seal): Promise<AuditEvent[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, sealer, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.run(this.take());
    } finally {
      this.draining = false;
    }
  }

  private take(): Pending[] {
    let n = 0;
    let i = 0;
    while (i < this.queue.length && (i === 0 || n + (this.queue[i] as Pending).work.events.length <= this.maxEvents)) {
      n += (this.queue[i] as Pending).work.events.length;
      i++;
    }
    return this.queue.splice(0, i);
  }

  private async run(group: Pending[]): Promise<void> {
    if (group.length === 1) return this.alone(group[0] as Pending);
    const sealers = new Map<string, Sealer>();
    for (const p of group) if (p.sealer !== seal) for (const e of p.work.events) sealers.set(e.id, p.sealer);
    const merged: UnitOfWork = {
      grants: group.flatMap((p) => p.work.grants ?? []),
      sessions: group.flatMap((p) => p.work.sessions ?? []),
      recordings: group.flatMap((p) => p.work.recordings ?? []),
      commands: group.flatMap((p) => p.work.commands ?? []),
      events: group.flatMap((p) => p.work.events),
    };
    let sealed: AuditEvent[];
    try {
      sealed = await this.store.commit(merged, (prev, e) => (sealers.get(e.id) ?? seal)(prev, e));
    } catch {
      // Concurrently, as the callers were: no unit in a group waited for another, so their order
      // is free, and a store outage fails them all as fast as it would have without grouping.
      await Promise.all(group.map((p) => this.alone(p)));
      return;
    }
    let at = 0;
    for (const p of group) {
      p.resolve(sealed.slice(at, at + p.work.events.length));
      at += p.work.events.length;
    }
  }

  private async alone(p: Pending): Promise<void> {
    try {
      p.resolve(await this.store.commit(p.work, p.sealer));
    } catch (err) {
      p.reject(err);
    }
  }
}
