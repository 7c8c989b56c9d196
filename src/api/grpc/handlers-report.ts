/**
 * The Report RPC: the post-incident review of one incident, or the summary across incidents since a
 * time. Auditors, approvers and admins only: a report names every responder, command and approver.
 */
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { GatehouseError } from '../../domain/errors.js';
import { loadIncidentReport } from '../../grants/report.js';
import { INCIDENT_RE } from '../../grants/rules.js';
import { loadSummaryReport } from '../../monitor/report.js';
import type { Store } from '../../store/ports.js';
import { durationField, parseRequest, type UnaryHandler } from './context.js';

export interface ReportApiDeps {
  readonly store: Store;
  readonly clock: Clock;
}

const READERS = ['auditor', 'approver', 'admin'] as const;

const request = z.object({
  incident: z.union([z.literal(''), z.string().regex(INCIDENT_RE, 'expected an incident id such as INC-1234')]),
  since: z.union([z.literal(''), durationField]),
});

export function reportHandlers(d: ReportApiDeps): Record<string, UnaryHandler> {
  return {
    report: async (ctx, req) => {
      if (!READERS.some((r) => ctx.user.roles.includes(r))) throw new GatehouseError('GH_ERR_FORBIDDEN', `${ctx.user.name} needs one of the roles: ${READERS.join(', ')}`);
      const r = parseRequest(request, req);
      if ((r.incident === '') === (r.since === '')) throw new GatehouseError('GH_ERR_BAD_INPUT', 'name exactly one of --incident INC or --since DURATION (e.g. 30d)');
      const now = d.clock.now();
      const doc = r.incident !== '' ? await loadIncidentReport(d.store, r.incident, now) : await loadSummaryReport(d.store, now - (r.since as number), now);
      return { kind: doc.kind, generatedAt: doc.generatedAt, json: JSON.stringify(doc) };
    },
  };
}
