/**
 * Admission slots for a template's `maxSessions`, on this broker.
 *
 * The limit is checked against the live sessions in the store, but a session's row is written
 * only once it has started: two connections admitted at the same moment would both read the old
 * count and both start. So an admission takes a slot before it reads the count, holds it until
 * the session's row is in the store (or the session failed to start), and counts the slots taken
 * before its own that are still held. Across brokers sharing PostgreSQL the window remains (a
 * documented limit): each broker only sees the other's sessions once their rows exist.
 */
export interface Slot {
  /** Slots on the same grant taken earlier and still held (sessions starting, not yet stored). */
  ahead(): number;
  release(): void;
}

export class SessionSlots {
  private readonly held = new Map<string, Set<symbol>>();

  take(grantId: string): Slot {
    let taken = this.held.get(grantId);
    if (taken === undefined) {
      taken = new Set();
      this.held.set(grantId, taken);
    }
    const set = taken;
    const mine = Symbol(grantId);
    set.add(mine);
    return {
      ahead() {
        let n = 0;
        for (const s of set) {
          if (s === mine) break;
          n++;
        }
        return n;
      },
      release: () => {
        if (!set.delete(mine)) return;
        if (set.size === 0) this.held.delete(grantId);
      },
    };
  }
}
