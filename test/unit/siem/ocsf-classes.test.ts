/**
 * The OCSF class and activity of every catalogue event, pinned against the OCSF 1.3.0 schema's own
 * enums (schema.ocsf.io, classes authentication, user_access, ssh_activity, process_activity,
 * detection_finding, application_lifecycle), so an OCSF parser sees the ids and names it expects.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE, type EventType } from '../../../src/events/catalogue.js';
import { GENESIS, seal } from '../../../src/events/chain.js';
import { OCSF_VERSION, toOcsf } from '../../../src/siem/ocsf.js';
import { draft } from '../audit/chain-fixture.js';

/** OCSF 1.3.0: class uid → class name, category, and the activity_id enum (0 Unknown omitted). */
const SCHEMA: Record<number, { name: string; category: [number, string]; activities: Record<number, string> }> = {
  3002: {
    name: 'Authentication',
    category: [3, 'Identity & Access Management'],
    activities: { 1: 'Logon', 2: 'Logoff', 3: 'Authentication Ticket', 4: 'Service Ticket Request', 5: 'Service Ticket Renew', 6: 'Preauth', 99: 'Other' },
  },
  3005: { name: 'User Access Management', category: [3, 'Identity & Access Management'], activities: { 1: 'Assign Privileges', 2: 'Revoke Privileges', 99: 'Other' } },
  4007: { name: 'SSH Activity', category: [4, 'Network Activity'], activities: { 1: 'Open', 2: 'Close', 3: 'Reset', 4: 'Fail', 5: 'Refuse', 6: 'Traffic', 7: 'Listen', 99: 'Other' } },
  1007: { name: 'Process Activity', category: [1, 'System Activity'], activities: { 1: 'Launch', 2: 'Terminate', 3: 'Open', 4: 'Inject', 5: 'Set User ID', 99: 'Other' } },
  2004: { name: 'Detection Finding', category: [2, 'Findings'], activities: { 1: 'Create', 2: 'Update', 3: 'Close', 99: 'Other' } },
  6002: {
    name: 'Application Lifecycle',
    category: [6, 'Application Activity'],
    activities: { 1: 'Install', 2: 'Remove', 3: 'Start', 4: 'Stop', 5: 'Restart', 6: 'Enable', 7: 'Disable', 8: 'Update', 99: 'Other' },
  },
};

/** The mapping Gatehouse promises, per event type: [class_uid, activity_id]. */
const EXPECTED: Record<EventType, [number, number]> = {
  'grant.requested': [3005, 1],
  'grant.approved': [3005, 1],
  'grant.activated': [3005, 1],
  'grant.denied': [3005, 2],
  'grant.expired': [3005, 2],
  'grant.revoked': [3005, 2],
  'grant.break_glass': [3005, 1],
  'grant.reviewed': [3005, 99],
  'grant.updated': [3005, 99],
  'grant.approval_refused': [3005, 99],
  'session.start': [4007, 1],
  'session.end': [4007, 2],
  'session.killed': [4007, 3],
  'session.refused': [3002, 1],
  'session.forward_opened': [4007, 1],
  'session.forward_closed': [4007, 2],
  'upstream.host_key_mismatch': [4007, 5],
  'command.allowed': [1007, 1],
  'command.denied': [1007, 1],
  'command.review': [1007, 1],
  'command.reviewed': [1007, 1],
  'command.finished': [1007, 2],
  'recording.closed': [6002, 99],
  'recording.failed': [6002, 99],
  'anomaly.detected': [2004, 1],
  'broker.started': [6002, 3],
  'broker.stopped': [6002, 4],
  'config.loaded': [6002, 99],
  'audit.checkpoint': [6002, 99],
  'sink.backlog_full': [6002, 99],
};

const TYPES = Object.keys(CATALOGUE) as EventType[];

describe('OCSF classes and activities', () => {
  it('pins every catalogue type (and only those)', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...TYPES].sort());
  });

  it.each(TYPES)('%s uses an OCSF 1.3 class and activity, with their schema names', (type) => {
    const spec = CATALOGUE[type].ocsf;
    const cls = SCHEMA[spec.classUid];
    expect([spec.classUid, spec.activityId]).toEqual(EXPECTED[type]);
    expect(cls?.name).toBe(spec.className);
    expect(cls?.activities[spec.activityId]).toBe(spec.activityName);
  });

  it.each(TYPES)('%s goes on the wire with the schema ids and names', (type) => {
    const e = { ...seal(GENESIS, draft(type)), code: CATALOGUE[type].code, severity: CATALOGUE[type].severity };
    const o = toOcsf(e, '0.1.0');
    const [classUid, activityId] = EXPECTED[type];
    const cls = SCHEMA[classUid] as (typeof SCHEMA)[number];
    const activity = cls.activities[activityId];
    expect(o).toMatchObject({
      class_uid: classUid,
      class_name: cls.name,
      category_uid: cls.category[0],
      category_name: cls.category[1],
      activity_id: activityId,
      activity_name: activity,
      type_uid: classUid * 100 + activityId,
      type_name: `${cls.name}: ${activity}`,
      metadata: { version: OCSF_VERSION },
    });
  });
});
