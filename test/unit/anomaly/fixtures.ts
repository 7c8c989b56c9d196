/** Small builders for the anomaly tests: templates with detectors on, feed events, fake sessions. */
import type { AnomalyConfig, Grant, Template } from '../../../src/domain/types.js';
import type { AuditEvent } from '../../../src/events/types.js';
import type { Subject } from '../../../src/monitor/anomaly/types.js';
import { grantRecord, TEMPLATES } from '../grants-fixture.js';

export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);
export const OFF: AnomalyConfig = { deniedCommands: null, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null };

export function template(anomaly: Partial<AnomalyConfig>, extra: Partial<Template> = {}): Template {
  return { ...(TEMPLATES[0] as Template), anomaly: { ...OFF, ...anomaly }, ...extra };
}

let seq = 0;
export function event(type: string, over: Partial<AuditEvent> & { data?: Record<string, unknown> }, at = T0): AuditEvent {
  seq++;
  return { id: `e${seq}`, seq, time: new Date(at).toISOString(), type: type as AuditEvent['type'], code: 'GH0', severity: 'info', broker: 'b1', actor: 'alice', user: 'alice', target: 'web-1', grantId: 'g-1', incident: 'INC-1', sessionId: 's-1', source: '127.0.0.1:50000', data: {}, prevHash: '', hash: '', ...over };
}


export function subject(over: { id?: string; grant?: Partial<Grant>; template?: Template; source?: string } = {}): Subject & { bytesIn: number; bytesOut: number; live: boolean } {
  const s = {
    id: over.id ?? 's-1',
    grantId: over.grant?.id ?? 'g-1',
    spec: { grant: grantRecord({ id: 'g-1', state: 'active', expiresAt: T0 + 3_600_000, ...over.grant }), template: over.template ?? template({}), source: over.source ?? '127.0.0.1:50000' },
    bytesIn: 0,
    bytesOut: 0,
    live: true,
    get stats() {
      return { bytesIn: s.bytesIn, bytesOut: s.bytesOut };
    },
    get isLive() {
      return s.live;
    },
    ctx: () => ({ actor: 'alice', user: 'alice', target: 'web-1', grantId: s.grantId, incident: 'INC-1', sessionId: s.id, source: s.spec.source }),
    end: async () => {
      s.live = false;
    },
  };
  return s;
}
