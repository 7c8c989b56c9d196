/**
 * Approver slots by role and by group (`approvers: [{ count: 1, role: approver }, { count: 1,
 * group: security }]`): the pure matching in src/grants/approvals.ts, then a GrantService running on
 * a template loaded from YAML text through the real config loader.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/domain/clock.js';
import type { User } from '../../src/domain/types.js';
import { EventLog } from '../../src/events/log.js';
import { adds, describeMissing, filled, fits, slotsOf, type Slot } from '../../src/grants/approvals.js';
import { Directory } from '../../src/grants/directory.js';
import { GrantService } from '../../src/grants/service.js';
import type { Store } from '../../src/store/ports.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { refusal } from './grants-fixture.js';

const u = (name: string, roles: User['roles'], groups: string[] = []): User => ({ name, roles, groups, keys: [] });
const APPROVER = u('ann', ['approver']);
const SECURITY = u('sec', ['watcher'], ['security']);
const BOTH = u('both', ['approver'], ['security', 'dba']);
const DBA = u('dba', ['approver'], ['dba']);
const NOBODY = u('nobody', ['watcher'], ['ops']);

describe('approvals.ts: slots', () => {
  const slots = slotsOf([
    { count: 1, role: 'approver' },
    { count: 1, group: 'security' },
  ]);

  it('slotsOf expands counts into one slot per required person', () => {
    expect(slotsOf([{ count: 2, role: 'approver' }, { count: 1, group: 'dba' }])).toEqual([{ role: 'approver' }, { role: 'approver' }, { group: 'dba' }]);
    expect(slotsOf([])).toEqual([]);
  });

  it('fits by role for a role slot and by group for a group slot, never across', () => {
    expect([fits(APPROVER, { role: 'approver' }), fits(APPROVER, { group: 'security' })]).toEqual([true, false]);
    expect([fits(SECURITY, { role: 'approver' }), fits(SECURITY, { group: 'security' })]).toEqual([false, true]);
    // A group named like a role is still a group.
    expect(fits(u('x', ['responder'], ['approver']), { role: 'approver' })).toBe(false);
  });

  it.each<[string, User[], number]>([
    ['nobody yet', [], 0],
    ['one approver', [APPROVER], 1],
    ['one security member', [SECURITY], 1],
    ['one person in both: counts once', [BOTH], 1],
    ['approver + security member', [APPROVER, SECURITY], 2],
    ['the person in both + an approver (matching moves them to the group slot)', [BOTH, APPROVER], 2],
    ['an approver, then the person in both', [APPROVER, BOTH], 2],
    ['two approvers: the group slot stays empty', [APPROVER, DBA], 1],
    ['a non-member', [NOBODY], 0],
  ])('filled: %s → %i', (_what, approvers, n) => {
    expect(filled(slots, approvers)).toBe(n);
  });

  it('adds: an approval must fill a slot still open', () => {
    expect(adds(slots, [], NOBODY)).toBe(false);
    expect(adds(slots, [APPROVER], DBA)).toBe(false);
    expect(adds(slots, [APPROVER], SECURITY)).toBe(true);
    expect(adds(slots, [APPROVER], BOTH)).toBe(true);
    expect(adds(slots, [BOTH], APPROVER)).toBe(true);
    expect(adds(slots, [APPROVER, SECURITY], BOTH)).toBe(false);
  });

  it('describeMissing names how many are left and which kinds of slot would count', () => {
    expect(describeMissing(slots, [])).toBe('2 more: role approver or group security');
    expect(describeMissing(slots, [APPROVER])).toBe('1 more: group security');
    expect(describeMissing(slots, [SECURITY])).toBe('1 more: role approver');
    // The person in both could be on either slot, so either kind completes it.
    expect(describeMissing(slots, [BOTH])).toBe('1 more: role approver or group security');
    expect(describeMissing(slots, [APPROVER, SECURITY])).toBe('nothing more');
    const twoGroups: Slot[] = slotsOf([{ count: 2, group: 'dba' }]);
    expect(describeMissing(twoGroups, [DBA])).toBe('1 more: group dba');
  });
});

const YAML = `
brokerId: test
users:
  - { name: alice, roles: [responder] }
  - { name: ann,   roles: [approver] }
  - { name: sec,   roles: [approver], groups: [security] }
  - { name: both,  roles: [approver], groups: [security] }
  - { name: ops,   roles: [approver], groups: [ops] }
  - { name: eve,   roles: [watcher],  groups: [security] }
targets:
  - { name: db-1, local: { command: [bash] }, labels: { tier: db } }
templates:
  - name: prod-db
    maxDuration: 1h
    targets: ["tier=db"]
    approvers:
      - { count: 1, role: approver }
      - { count: 1, group: security }
`;

describe('GrantService with a role slot and a group slot (template from YAML)', () => {
  let store: Store;
  let events: EventLog;
  afterEach(async () => {
    await events.settled();
    events.close();
    await store.close();
  });

  async function service(): Promise<GrantService> {
    const config = buildConfig(parseYaml(YAML), { baseDir: '/tmp', env: {}, source: 'test.yaml' });
    expect(config.templates[0]?.approvers).toEqual([
      { count: 1, role: 'approver' },
      { count: 1, group: 'security' },
    ]);
    store = openSqliteStore(':memory:');
    await store.migrate();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    const log = pino({ level: 'silent' });
    events = new EventLog(store, 'test', clock, log);
    return new GrantService({ store, events, directory: new Directory(config.users), targets: config.targets, templates: config.templates, clock, log });
  }
  const REQ = { user: 'alice', targets: ['db-1'], incident: 'INC-9', durationMs: 600_000, reason: 'replication lag', template: 'prod-db' };

  it('an approver and a security member activate it', async () => {
    const grants = await service();
    const g = await grants.request('alice', REQ);
    expect(await grants.approve('ann', g.id)).toMatchObject({ state: 'pending' });
    expect(await grants.approve('sec', g.id)).toMatchObject({ state: 'active', approvals: [{ by: 'ann' }, { by: 'sec' }] });
  });

  it('one person in both the role and the group counts once', async () => {
    const grants = await service();
    const g = await grants.request('alice', REQ);
    const one = await grants.approve('both', g.id);
    expect(one).toMatchObject({ state: 'pending', approvals: [{ by: 'both' }] });
    expect(await refusal(grants.approve('both', g.id))).toMatchObject({ code: 'GH_ERR_DUPLICATE_APPROVAL' });
    // Either kind of second person completes it; here a plain approver (both moves to the group slot).
    expect(await grants.approve('ann', g.id)).toMatchObject({ state: 'active' });
  });

  it('an approver outside the group is refused once only the group slot is left, with the message naming it', async () => {
    const grants = await service();
    const g = await grants.request('alice', REQ);
    await grants.approve('ann', g.id);
    expect(await refusal(grants.approve('ops', g.id))).toMatchObject({ code: 'GH_ERR_FORBIDDEN', message: `ops fills none of the approvals grant ${g.id} still needs (1 more: group security)` });
    // A security member without the approver role cannot approve at all: approving needs the role.
    expect(await refusal(grants.approve('eve', g.id))).toMatchObject({ code: 'GH_ERR_FORBIDDEN', message: 'eve needs one of the roles: approver' });
    expect(await grants.approve('sec', g.id)).toMatchObject({ state: 'active', approvals: [{ by: 'ann' }, { by: 'sec' }] });
  });
});
