/**
 * A connection from outside the template's `sourceNetworks`. The gateway has already refused it
 * (`session.refused` GH_ERR_SOURCE_NETWORK); this detector decides what else happens: an alert, or
 * — since someone holding the responder's key is trying from elsewhere — ending the grant's other
 * sessions (kill) or the whole grant (revoke).
 */
import type { AuditEvent } from '../../events/types.js';
import { contextOf, hostOf, printableText, type EventDetector, type EventInput, type Finding } from './types.js';

export class OutsideNetworks implements EventDetector {
  readonly name = 'outsideNetworks' as const;
  readonly types = ['session.refused'] as const;

  judge(e: AuditEvent, input: EventInput): Finding | null {
    const cfg = input.template.anomaly.outsideNetworks;
    if (cfg === null || e.grantId === null || e.data.error !== 'GH_ERR_SOURCE_NETWORK') return null;
    const ip = e.source === null ? 'an unknown address' : hostOf(e.source);
    return {
      detector: this.name,
      action: cfg.action,
      grantId: e.grantId,
      sessionId: null,
      summary: `a connection for grant ${e.grantId} from ${ip}, outside the allowed networks (${input.template.sourceNetworks.join(', ')})`,
      evidence: { source: ip, allowed: [...input.template.sourceNetworks], refusal: printableText(String(e.data.message ?? ''), 300) },
      trigger: e,
      ctx: { ...contextOf(e), sessionId: null },
    };
  }
}
