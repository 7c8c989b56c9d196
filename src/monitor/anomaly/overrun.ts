/**
 * Defence in depth: a session still live after its grant's deadline plus a margin means the
 * watchdog's timer did not end it (a bug, a stalled end). The sampler ends it (reason `anomaly`)
 * and says so loudly (`anomaly.detected`, detector `overrun`). Always a kill; not configurable.
 */
import type { Finding, SampledDetector, Subject } from './types.js';

export class Overrun implements SampledDetector {
  private readonly fired = new Set<string>();

  constructor(private readonly marginMs: number) {}

  sample(s: Subject, now: number): Finding | null {
    const deadline = s.spec.grant.expiresAt;
    if (deadline === null || now < deadline + this.marginMs || this.fired.has(s.id)) return null;
    this.fired.add(s.id);
    return {
      detector: 'overrun',
      action: 'kill',
      grantId: s.grantId,
      sessionId: s.id,
      summary: `session still live ${Math.round((now - deadline) / 1000)} s after grant ${s.grantId} expired`,
      evidence: { expiresAt: new Date(deadline).toISOString(), overdueMs: now - deadline, marginMs: this.marginMs },
      trigger: null,
      ctx: { ...s.ctx(), actor: 'gatehouse' },
    };
  }

  forget(sessionId: string): void {
    this.fired.delete(sessionId);
  }
}
