/**
 * A second concurrent session on a grant from a new address: the grant is live from one IP and a
 * session opens from another (a stolen key, a shared grant). Judged on `session.start`, against the
 * store's live sessions of the grant, so sessions held by other brokers count too. Only the later
 * session is the finding; the one already running is its evidence.
 *
 * Limits: two responders behind one NAT look like one address; one responder moving between
 * networks (VPN reconnect) with a session left open looks like two.
 */
import type { AuditEvent } from '../../events/types.js';
import { contextOf, hostOf, type EventDetector, type EventInput, type Finding } from './types.js';

export class NewSource implements EventDetector {
  readonly name = 'newSource' as const;
  readonly types = ['session.start'] as const;

  async judge(e: AuditEvent, input: EventInput): Promise<Finding | null> {
    const cfg = input.template.anomaly.newSource;
    if (cfg === null || e.grantId === null || e.sessionId === null || e.source === null) return null;
    const live = await input.liveSessions(e.grantId);
    const me = live.find((s) => s.id === e.sessionId);
    if (me === undefined) return null; // already over
    const ip = hostOf(e.source);
    const earlier = live.filter((s) => s.id !== me.id && (s.startedAt < me.startedAt || (s.startedAt === me.startedAt && s.id < me.id)) && hostOf(s.source) !== ip);
    if (earlier.length === 0) return null;
    const from = [...new Set(earlier.map((s) => hostOf(s.source)))];
    return {
      detector: this.name,
      action: cfg.action,
      grantId: e.grantId,
      sessionId: e.sessionId,
      summary: `a second session on grant ${e.grantId} from a new address ${ip} while it is live from ${from.join(', ')}`,
      evidence: { source: ip, live: earlier.map((s) => ({ sessionId: s.id, source: hostOf(s.source), broker: s.broker, startedAt: new Date(s.startedAt).toISOString() })) },
      trigger: e,
      ctx: contextOf(e),
    };
  }
}
