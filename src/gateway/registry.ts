/**
 * The sessions this broker holds right now, for the API (list, watch, kill) and for shutdown; and
 * the forwarded TCP streams (`ssh -L`), which are not sessions (nothing to watch or replay) but
 * must end with them when the broker shuts down or loses its store.
 */
import type { EndReason } from '../domain/types.js';
import type { Watched } from '../monitor/watchdog.js';
import type { LiveSession } from './session.js';

export class SessionRegistry {
  private readonly sessions = new Map<string, LiveSession>();
  private readonly forwards = new Map<string, Watched>();

  add(s: LiveSession): void {
    this.sessions.set(s.id, s);
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get(id: string): LiveSession | undefined {
    return this.sessions.get(id);
  }

  list(): LiveSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Holds a forwarded stream until the returned function releases it. */
  hold(forward: Watched): () => void {
    this.forwards.set(forward.id, forward);
    return () => void this.forwards.delete(forward.id);
  }

  /** Ends every session and forward (broker shutdown); resolves when all have committed their end. */
  async endAll(reason: EndReason, message: string): Promise<number> {
    const all = this.list();
    await Promise.all([...all, ...this.forwards.values()].map((s) => s.end(reason, message)));
    return all.length;
  }
}
