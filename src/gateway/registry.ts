/** The sessions this broker holds right now, for the API (list, watch, kill) and for shutdown. */
import type { EndReason } from '../domain/types.js';
import type { LiveSession } from './session.js';

export class SessionRegistry {
  private readonly sessions = new Map<string, LiveSession>();

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

  /** Ends every session (broker shutdown); resolves when all have committed their end. */
  async endAll(reason: EndReason, message: string): Promise<number> {
    const all = this.list();
    await Promise.all(all.map((s) => s.end(reason, message)));
    return all.length;
  }
}
