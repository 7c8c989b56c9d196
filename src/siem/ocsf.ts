/**
 * Events as OCSF 1.3 objects, so a SIEM with an OCSF parser ingests them without a custom one. The
 * class and activity come from the catalogue (src/events/catalogue.ts); this file adds the base
 * attributes every class has, and the class-specific ones Gatehouse can fill:
 *
 *   3002 Authentication, 3005 User Access Management   user, status (refusals are failures)
 *   4007 SSH Activity                                   src_endpoint, dst_endpoint, session
 *   1007 Process Activity                               process.cmd_line, exit_code
 *   2004 Detection Finding                              finding_info, evidence
 *   6002 Application Lifecycle                          app
 *
 * Everything Gatehouse knows that OCSF has no place for (grant, incident, the chain hashes, the raw
 * payload) goes under `unmapped`, so nothing is lost in translation.
 */
import { CATALOGUE, type Severity } from '../events/catalogue.js';
import type { AuditEvent } from '../events/types.js';

export const OCSF_VERSION = '1.3.0';

const CATEGORIES: Record<number, string> = {
  1: 'System Activity',
  2: 'Findings',
  3: 'Identity & Access Management',
  4: 'Network Activity',
  5: 'Discovery',
  6: 'Application Activity',
};

/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 5 Critical. */
export const OCSF_SEVERITY: Record<Severity, { id: number; name: string }> = {
  info: { id: 1, name: 'Informational' },
  notice: { id: 2, name: 'Low' },
  warning: { id: 3, name: 'Medium' },
  critical: { id: 5, name: 'Critical' },
};

/** Events that record something refused or failed: OCSF status Failure. */
const FAILURES = new Set<string>(['session.refused', 'command.denied', 'upstream.host_key_mismatch', 'recording.failed', 'grant.approval_refused']);

/** `127.0.0.1:2222`, `[::1]:22`, `ipv4:10.0.0.1:5000` → ip and port; anything else → null. */
export function parseEndpoint(source: string | null): { ip: string; port: number } | null {
  if (source === null) return null;
  const m = /^(?:ipv[46]:)?(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(source);
  if (!m) return null;
  return { ip: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}

export function toOcsf(e: AuditEvent, productVersion: string): Record<string, unknown> {
  const spec = CATALOGUE[e.type];
  const { classUid, className, activityId, activityName } = spec.ocsf;
  const categoryUid = Math.floor(classUid / 1000);
  const sev = OCSF_SEVERITY[e.severity];
  const failed = FAILURES.has(e.type);
  const endpoint = parseEndpoint(e.source);
  const d = e.data;
  const out: Record<string, unknown> = {
    activity_id: activityId,
    activity_name: activityName,
    category_uid: categoryUid,
    category_name: CATEGORIES[categoryUid] ?? 'Other',
    class_uid: classUid,
    class_name: className,
    type_uid: classUid * 100 + activityId,
    type_name: `${className}: ${activityName}`,
    severity_id: sev.id,
    severity: sev.name,
    status_id: failed ? 2 : 1,
    status: failed ? 'Failure' : 'Success',
    time: Date.parse(e.time),
    message: spec.description,
    metadata: {
      uid: e.id,
      version: OCSF_VERSION,
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse', version: productVersion },
      log_name: 'gatehouse-audit',
      log_provider: e.broker,
      event_code: e.code,
      sequence: e.seq,
      original_time: e.time,
      ...((e.sessionId ?? e.grantId) !== null && { correlation_uid: e.sessionId ?? e.grantId }),
    },
    ...(e.actor !== null && { actor: { user: { name: e.actor } } }),
    ...(e.user !== null && { user: { name: e.user } }),
    ...(endpoint && { src_endpoint: endpoint }),
    ...(e.target !== null && { dst_endpoint: { hostname: e.target } }),
    unmapped: {
      type: e.type,
      broker: e.broker,
      grant_id: e.grantId,
      incident: e.incident,
      session_id: e.sessionId,
      source: e.source,
      prev_hash: e.prevHash,
      hash: e.hash,
      data: d,
    },
  };
  if (failed && typeof d.message === 'string') out.status_detail = d.message;
  switch (classUid) {
    case 4007:
      if (e.sessionId !== null) out.session = { uid: e.sessionId };
      break;
    case 3005:
      if (Array.isArray(d.targets)) out.resources = (d.targets as unknown[]).map((t) => ({ name: String(t), type: 'target' }));
      if (e.grantId !== null) out.privileges = [`grant:${e.grantId}`];
      break;
    case 1007:
      if (typeof d.command === 'string') out.process = { cmd_line: d.command };
      if (typeof d.exitCode === 'number') out.exit_code = d.exitCode;
      if (e.target !== null) out.device = { hostname: e.target, type_id: 0 };
      break;
    case 2004:
      out.finding_info = { uid: e.id, title: `${String(d.detector)}: ${String(d.action)}`, analytic: { name: String(d.detector), type_id: 1 } };
      out.evidences = [{ data: d.evidence }];
      break;
    case 6002:
      out.app = { name: 'Gatehouse', vendor_name: 'Gatehouse', version: productVersion };
      break;
  }
  return out;
}
