/**
 * The event catalogue (Teleport lib/events/codes.go): every event type the broker can write, with a
 * stable code, a severity, the OCSF class it maps to, and a zod schema for its payload. Sinks and
 * the audit chain consume only events from this table; docs/events.md is generated from it
 * (`npm run docs`) and a test fails when the two drift.
 */
import { z } from 'zod';

export type Severity = 'info' | 'notice' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'notice', 'warning', 'critical'];

/**
 * OCSF 1.3 classes used, with the activity ids and names of the schema (test/unit/siem/ocsf-classes.test.ts
 * pins each against the schema's enum): 3002 Authentication (a refused connection is a failed Logon),
 * 3005 User Access Management, 4007 SSH Activity (Open, Close, Reset for a kill, Refuse for a host key
 * the broker will not accept), 1007 Process Activity (Launch, Terminate), 2004 Detection Finding,
 * 6002 Application Lifecycle.
 */
export interface OcsfClass {
  readonly classUid: number;
  readonly className: string;
  readonly activityId: number;
  readonly activityName: string;
}

export interface EventSpec<S extends z.ZodType = z.ZodType> {
  readonly code: string;
  readonly severity: Severity;
  readonly description: string;
  readonly ocsf: OcsfClass;
  readonly data: S;
}

const ocsf = (classUid: number, className: string, activityId: number, activityName: string): OcsfClass => ({ classUid, className, activityId, activityName });
const ACCESS = (id: number, name: string): OcsfClass => ocsf(3005, 'User Access Management', id, name);
const SSH = (id: number, name: string): OcsfClass => ocsf(4007, 'SSH Activity', id, name);
const PROC = (id: number, name: string): OcsfClass => ocsf(1007, 'Process Activity', id, name);
const APP = (id: number, name: string): OcsfClass => ocsf(6002, 'Application Lifecycle', id, name);
const FINDING = ocsf(2004, 'Detection Finding', 1, 'Create');

const grantData = z.object({
  targets: z.array(z.string()),
  template: z.string(),
  durationMs: z.number(),
  reason: z.string(),
  breakGlass: z.boolean(),
});

const endReason = z.string();

function spec<S extends z.ZodType>(code: string, severity: Severity, ocsfClass: OcsfClass, description: string, data: S): EventSpec<S> {
  return { code, severity, ocsf: ocsfClass, description, data };
}

export const CATALOGUE = {
  // grants (1xxx)
  'grant.requested': spec('GH1000', 'notice', ACCESS(1, 'Assign Privileges'), 'A user asked for access on an incident.', grantData),
  'grant.approved': spec('GH1001', 'notice', ACCESS(1, 'Assign Privileges'), 'An approver approved a grant (one approval; activation is separate).', z.object({ approvals: z.number(), needed: z.number(), mfa: z.boolean() })),
  'grant.activated': spec('GH1002', 'notice', ACCESS(1, 'Assign Privileges'), 'A grant reached its approvals (or is break-glass) and is now active.', z.object({ expiresAt: z.string(), approvers: z.array(z.string()) })),
  'grant.denied': spec('GH1003', 'notice', ACCESS(2, 'Revoke Privileges'), 'An approver denied a pending grant.', z.object({ reason: z.string() })),
  'grant.expired': spec('GH1004', 'info', ACCESS(2, 'Revoke Privileges'), 'A grant reached its expiry time.', z.object({ expiresAt: z.string() })),
  'grant.revoked': spec('GH1005', 'warning', ACCESS(2, 'Revoke Privileges'), 'A grant was revoked before expiry.', z.object({ reason: z.string() })),
  'grant.break_glass': spec('GH1006', 'critical', ACCESS(1, 'Assign Privileges'), 'A break-glass grant was activated without approval; it must be reviewed.', grantData),
  'grant.reviewed': spec('GH1007', 'notice', ACCESS(99, 'Other'), 'An approver recorded the review of a break-glass grant.', z.object({ notes: z.string() })),
  'grant.updated': spec('GH1009', 'notice', ACCESS(99, 'Other'), 'The requester changed a pending grant; approvals given before the change no longer count.', z.object({ targets: z.array(z.string()), durationMs: z.number(), reason: z.string(), approvalsVoided: z.number() })),
  'grant.approval_refused': spec('GH1008', 'warning', ACCESS(99, 'Other'), 'An approval attempt was refused (self-approval, alias, bad MFA, wrong state).', z.object({ error: z.string(), message: z.string() })),
  // sessions (2xxx)
  'session.start': spec('GH2000', 'notice', SSH(1, 'Open'), 'A session opened on a target under a grant.', z.object({ kind: z.enum(['shell', 'exec']), command: z.string().nullable(), recording: z.string().nullable(), term: z.string().nullable() })),
  'session.end': spec('GH2001', 'notice', SSH(2, 'Close'), 'A session ended; `reason` tells why.', z.object({ reason: endReason, exitCode: z.number().nullable(), durationMs: z.number(), bytesIn: z.number(), bytesOut: z.number(), message: z.string().nullable() })),
  'session.killed': spec('GH2002', 'warning', SSH(3, 'Reset'), 'A watcher or the broker killed a live session.', z.object({ reason: z.string() })),
  'session.refused': spec('GH2003', 'warning', ocsf(3002, 'Authentication', 1, 'Logon'), 'A connection or channel was refused (no grant, bad name, forbidden channel, upstream failure).', z.object({ error: z.string(), message: z.string() })),
  'upstream.host_key_mismatch': spec('GH2004', 'critical', SSH(5, 'Refuse'), "The target presented a host key other than the pinned one; the connection was refused.", z.object({ expected: z.string(), presented: z.string() })),
  'session.forward_opened': spec('GH2005', 'notice', SSH(1, 'Open'), 'A local port forward (`ssh -L`) opened a TCP stream from the target to an allowed destination; its bytes are not recorded.', z.object({ forwardId: z.string(), destination: z.string() })),
  'session.forward_closed': spec('GH2006', 'notice', SSH(2, 'Close'), 'A forwarded TCP stream closed; `reason` tells why.', z.object({ forwardId: z.string(), destination: z.string(), reason: endReason, durationMs: z.number(), bytesIn: z.number(), bytesOut: z.number(), message: z.string().nullable() })),
  // commands (3xxx)
  'command.allowed': spec('GH3000', 'info', PROC(1, 'Launch'), 'A command was judged and allowed.', z.object({ command: z.string(), reasons: z.array(z.object({ command: z.string(), rule: z.string().nullable(), why: z.string() })), mode: z.enum(['exec', 'interactive']) })),
  'command.denied': spec('GH3001', 'warning', PROC(1, 'Launch'), 'A command was denied; it never reached the target.', z.object({ command: z.string(), reasons: z.array(z.object({ command: z.string(), rule: z.string().nullable(), why: z.string() })), mode: z.enum(['exec', 'interactive']) })),
  'command.review': spec('GH3002', 'notice', PROC(1, 'Launch'), 'A command was held for a watcher to approve (`gatehouse sessions approve-command`).', z.object({ reviewId: z.string(), command: z.string(), reasons: z.array(z.object({ command: z.string(), rule: z.string().nullable(), why: z.string() })), mode: z.enum(['exec', 'interactive']), timeoutMs: z.number() })),
  'command.reviewed': spec('GH3003', 'notice', PROC(1, 'Launch'), 'A held command was approved or rejected by a watcher, or timed out (then denied).', z.object({ reviewId: z.string(), command: z.string(), outcome: z.enum(['approved', 'rejected', 'timeout']), by: z.string().nullable(), note: z.string().nullable() })),
  'command.finished': spec('GH3004', 'info', PROC(2, 'Terminate'), 'A command finished (shell integration marks).', z.object({ command: z.string(), exitCode: z.number().nullable(), durationMs: z.number() })),
  // recordings (4xxx)
  'recording.closed': spec('GH4000', 'info', APP(99, 'Other'), 'A recording file was closed; its hash enters the audit chain.', z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), truncated: z.boolean() })),
  'recording.failed': spec('GH4001', 'critical', APP(99, 'Other'), 'A recording could not be written.', z.object({ path: z.string(), error: z.string() })),
  // anomalies (5xxx)
  'anomaly.detected': spec('GH5000', 'critical', FINDING, 'A detector fired; `action` tells what the broker did.', z.object({ detector: z.string(), action: z.enum(['alert', 'kill', 'revoke']), evidence: z.record(z.string(), z.unknown()) })),
  // broker and audit (6xxx)
  'broker.started': spec('GH6000', 'info', APP(3, 'Start'), 'A broker started.', z.object({ version: z.string(), config: z.string() })),
  'broker.stopped': spec('GH6001', 'info', APP(4, 'Stop'), 'A broker shut down.', z.object({ sessionsEnded: z.number() })),
  'config.loaded': spec(
    'GH6002',
    'notice',
    APP(99, 'Other'),
    'Configuration was loaded, or reloaded (SIGHUP): which sections took effect, and which changed but wait for a restart.',
    z.object({ source: z.string(), sha256: z.string(), reload: z.boolean().optional(), applied: z.array(z.string()).optional(), restartNeeded: z.array(z.string()).optional() }),
  ),
  'audit.checkpoint': spec('GH6003', 'info', APP(99, 'Other'), 'A signed checkpoint of the audit chain: Ed25519 over the canonical JSON of {seq, head, time, prevSignature}, where seq/head are the event before it (docs/siem.md).', z.object({ seq: z.number(), head: z.string(), prevSignature: z.string().nullable(), signature: z.string(), publicKey: z.string() })),
  // sinks (7xxx)
  'sink.backlog_full': spec('GH7000', 'critical', APP(99, 'Other'), 'A sink fell behind past its backlog limit; the oldest undelivered events are still in the store.', z.object({ sink: z.string(), backlog: z.number(), limit: z.number() })),
} as const satisfies Record<string, EventSpec>;

export type EventType = keyof typeof CATALOGUE;
export type EventData<T extends EventType> = z.input<(typeof CATALOGUE)[T]['data']>;

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(CATALOGUE, type);
}
