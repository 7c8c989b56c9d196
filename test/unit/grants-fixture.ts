/**
 * A small world for the grant lifecycle tests: users (with aliases that share a key, a token or a
 * TOTP secret), targets, templates, a ManualClock, an in-memory SQLite store and an EventLog.
 */
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import { ManualClock } from '../../src/domain/clock.js';
import { GatehouseError } from '../../src/domain/errors.js';
import type { Grant, Target, Template, User } from '../../src/domain/types.js';
import { EventLog } from '../../src/events/log.js';
import type { AuditEvent } from '../../src/events/types.js';
import { Directory, sha256Hex } from '../../src/grants/directory.js';
import { GrantService, type GrantRequest } from '../../src/grants/service.js';
import type { Store } from '../../src/store/ports.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

export const ALICE_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFsaWNlYWxpY2VhbGljZWFsaWNlYWxpY2VhbGljZQ==';
export const BOB_TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
export const CAROL_TOTP = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const u = (name: string, roles: User['roles'], extra: Partial<User> = {}): User => ({ name, roles, keys: [], groups: [], ...extra });

export const USERS: readonly User[] = [
  u('alice', ['responder'], { keys: [`${ALICE_KEY} alice@laptop`], apiTokenSha256: sha256Hex('tok-alice') }),
  /** Alice again, under another name, with the same SSH key. */
  u('alice-ops', ['approver'], { keys: [`${ALICE_KEY} ops`] }),
  /** Alice again, with the same API token. */
  u('alice-api', ['approver'], { apiTokenSha256: sha256Hex('tok-alice') }),
  u('bob', ['approver'], { totp: BOB_TOTP }),
  /** Bob again, with the same TOTP secret. */
  u('bob-2', ['approver'], { totp: BOB_TOTP }),
  u('carol', ['approver', 'watcher'], { totp: CAROL_TOTP }),
  u('dave', ['watcher']),
  u('erin', ['responder']),
  u('root', ['admin']),
  u('lead', ['admin', 'approver']),
  u('ann', ['responder', 'approver']),
];

const target = (name: string, labels: Record<string, string> = {}): Target => ({ name, kind: 'local', labels, owners: [], local: { command: ['bash'] } });
export const TARGETS: readonly Target[] = [target('web-1', { env: 'prod' }), target('web-2', { env: 'prod' }), target('db-1', { env: 'prod', tier: 'db' }), target('sandbox')];

const template = (name: string, approvals: number, maxDurationMs: number, targets: string[]): Template => ({
  name,
  approvals,
  maxDurationMs,
  targets,
  commands: { allow: ['ls *'], deny: [], review: [] },
  recording: 'strict',
  allowForwarding: { subsystems: [], local: [] },
  shellIntegration: false,
  inspect: true,
  reviewTimeoutMs: 300_000,
  approvers: approvals > 0 ? [{ count: approvals, role: 'approver' }] : [],
  mfa: { approve: false, session: false },
  sourceNetworks: [],
  breakGlass: { allowed: false, maxDurationMs: 900_000, users: null, targets: null },
  idleTimeoutMs: null,
  maxSessions: null,
  requestTtlMs: 86_400_000,
  anomaly: { deniedCommands: null, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null },
});
export const TEMPLATES: readonly Template[] = [template('diagnose', 1, 3_600_000, ['web-*']), template('dual', 2, 1_800_000, ['tier=db']), template('sandbox', 0, 7_200_000, ['sandbox'])];

export const WEB: GrantRequest = { user: 'alice', targets: ['web-1'], incident: 'INC-1', durationMs: 1_800_000, reason: 'disk full on web-1' };
export const DB: GrantRequest = { user: 'alice', targets: ['db-1'], incident: 'INC-2', durationMs: 900_000, reason: 'replication lag' };

export interface World {
  readonly clock: ManualClock;
  readonly store: Store;
  readonly events: EventLog;
  readonly directory: Directory;
  readonly grants: GrantService;
  /** Every committed event, in chain order. */
  all(): Promise<AuditEvent[]>;
  /** Types of the events after `afterSeq`. */
  types(afterSeq?: number): Promise<string[]>;
  head(): Promise<number>;
  close(): Promise<void>;
}

export async function world(store: Store = openSqliteStore(':memory:')): Promise<World> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 9, 0, 0));
  await store.migrate();
  const log = pino({ level: 'silent' });
  const events = new EventLog(store, 'test-broker', clock, log);
  const directory = new Directory(USERS);
  const grants = new GrantService({ store, events, directory, targets: TARGETS, templates: TEMPLATES, clock, log });
  const all = (): Promise<AuditEvent[]> => store.readEvents(0, 10_000);
  return {
    clock,
    store,
    events,
    directory,
    grants,
    all,
    types: async (after = 0) => (await store.readEvents(after, 10_000)).map((e) => e.type),
    head: async () => (await store.eventHead()).seq,
    close: async () => {
      await events.settled();
      events.close();
      await store.close();
    },
  };
}

/** The GatehouseError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function refusal(p: Promise<unknown>): Promise<GatehouseError> {
  const outcome = await p.then(
    (v: unknown) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (outcome.ok) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.v)}`);
  if (!(outcome.e instanceof GatehouseError)) throw outcome.e;
  return outcome.e;
}

export function totpCode(secret: string, at: number, offsetSteps = 0): string {
  return new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: at + offsetSteps * 30_000 });
}

/** A grant record for the pure rule tests. */
export function grantRecord(over: Partial<Grant> & Pick<Grant, 'id'>): Grant {
  return {
    user: 'alice',
    targets: ['web-1'],
    incident: 'INC-1',
    template: 'diagnose',
    reason: 'r',
    durationMs: 1_800_000,
    breakGlass: false,
    state: 'pending',
    requestedAt: 0,
    requestedBy: 'alice',
    approvals: [],
    approvedAt: null,
    expiresAt: null,
    endedAt: null,
    endReason: null,
    endedBy: null,
    reviewRequired: false,
    version: 1,
    ...over,
  };
}
