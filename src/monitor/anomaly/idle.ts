/**
 * Idle sessions: a session with no input and no output for the template's `idleTimeout` is ended
 * with reason `idle`. Sampled with the other counters (never per chunk): the session is idle when
 * its bytesIn and bytesOut have not moved since the reading that started the idle stretch. The
 * engine writes `anomaly.detected` (detector `idle`, evidence idleMs/limitMs) before the end, like
 * every detector; it is housekeeping, not misconduct, so it flags nothing for review.
 *
 * Limits: the resolution is one sampling tick; a program that prints a clock every second keeps a
 * session "busy" for ever, and so does a keep-alive typed by a script.
 */
import type { Subject } from './types.js';

interface Reading {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly since: number;
  /** Reported already: the end is under way (it may take longer than a tick); report once. */
  fired: boolean;
}

export class IdleTracker {
  private readonly readings = new Map<string, Reading>();

  /** How long the session has been idle, when that is past its template's limit; else null. */
  check(s: Subject, now: number): number | null {
    const limit = s.spec.template.idleTimeoutMs;
    if (limit === null) return null;
    const { bytesIn, bytesOut } = s.stats;
    const r = this.readings.get(s.id);
    if (r === undefined || r.bytesIn !== bytesIn || r.bytesOut !== bytesOut) {
      this.readings.set(s.id, { bytesIn, bytesOut, since: now, fired: false });
      return null;
    }
    if (r.fired || now - r.since < limit) return null;
    r.fired = true;
    return now - r.since;
  }

  forget(sessionId: string): void {
    this.readings.delete(sessionId);
  }
}
