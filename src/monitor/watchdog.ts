/**
 * The per-session watchdog: a timer on each session's grant deadline, and reactions to the event
 * feed (revocations, kills, expiries — from this broker or, through the store, from any other).
 * Timers, not polling: a session ends within milliseconds of its deadline or its revocation.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../domain/clock.js';
import type { EndReason } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { AuditEvent } from '../events/types.js';

/** What the watchdog needs of a session: who it is, its deadline, and a way to end it. */
export interface Watched {
  readonly id: string;
  readonly grantId: string;
  readonly expiresAt: number | null;
  end(reason: EndReason, message?: string): Promise<void>;
}

interface Entry {
  readonly session: Watched;
  readonly timer: Timer | null;
}

export class Watchdog {
  private readonly sessions = new Map<string, Entry>();
  private readonly unsubscribe: () => void;

  constructor(
    events: EventLog,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.unsubscribe = events.subscribe((e) => this.onEvent(e));
  }

  watch(session: Watched): () => void {
    const deadline = session.expiresAt;
    const timer =
      deadline === null
        ? null
        : this.clock.setTimer(deadline - this.clock.now(), () => {
            void session.end('expired', `grant ${session.grantId} expired at ${new Date(deadline).toISOString()}`);
          });
    this.sessions.set(session.id, { session, timer });
    return () => {
      timer?.cancel();
      this.sessions.delete(session.id);
    };
  }

  get size(): number {
    return this.sessions.size;
  }

  private onEvent(e: AuditEvent): void {
    switch (e.type) {
      case 'grant.revoked':
        this.endGrant(e.grantId, 'revoked', `grant ${e.grantId} was revoked${e.actor ? ` by ${e.actor}` : ''}: ${String(e.data.reason)}`);
        break;
      case 'grant.expired':
        this.endGrant(e.grantId, 'expired', `grant ${e.grantId} expired at ${String(e.data.expiresAt)}`);
        break;
      case 'session.killed': {
        const entry = e.sessionId === null ? undefined : this.sessions.get(e.sessionId);
        if (entry) void entry.session.end('killed', `session killed${e.actor ? ` by ${e.actor}` : ''}: ${String(e.data.reason)}`);
        break;
      }
      default:
        break;
    }
  }

  endGrant(grantId: string | null, reason: EndReason, message: string): void {
    if (grantId === null) return;
    for (const { session } of this.sessions.values()) {
      if (session.grantId === grantId) {
        this.log.info({ sessionId: session.id, grantId, reason }, 'ending session');
        void session.end(reason, message);
      }
    }
  }

  close(): void {
    this.unsubscribe();
    for (const { timer } of this.sessions.values()) timer?.cancel();
    this.sessions.clear();
  }
}
