/**
 * Idle sessions: a session with no input and no output for the template's `idleTimeout` is ended
 * with reason `idle`. Sampled with the other counters (never per chunk): the session is idle when
 * its bytesIn and bytesOut have not moved since the reading that started the idle stretch. Not an
 * anomaly (no `anomaly.detected`): `session.end` with reason `idle` is the record.
 *
 * Limits: the resolution is one sampling tick; a program that prints a clock every second keeps a
 * session "busy" for ever, and so does a keep-alive typed by a script.
 */
import type { Subject } from './types.js';

interface Reading {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly since: number;
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
      this.readings.set(s.id, { bytesIn, bytesOut, since: now });
      return null;
    }
    return now - r.since >= limit ? now - r.since : null;
  }

  forget(sessionId: string): void {
    this.readings.delete(sessionId);
  }
}
