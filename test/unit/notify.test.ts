/**
 * Notifications (src/siem/notify.ts), the pure parts: who is told about each kind of event (target
 * owners + the template's approvers by role and group, never the responder, following a user
 * reload), which events a notifier takes by default, and the text of the messages for a kill and
 * an anomaly.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { notifySchema } from '../../src/config/delivery-schema.js';
import type { Grant, Target, Template, User } from '../../src/domain/types.js';
import type { AuditEvent } from '../../src/events/types.js';
import { Directory } from '../../src/grants/directory.js';
import { audienceFrom, describe as describeEvent, NOTIFY_DEFAULT_EVENTS, NotifySink } from '../../src/siem/notify.js';
import { grantRecord, TEMPLATES } from './grants-fixture.js';

const u = (name: string, roles: User['roles'], groups: string[] = []): User => ({ name, roles, groups, keys: [] });
const USERS: User[] = [u('alice', ['responder']), u('bob', ['approver']), u('sec', ['approver'], ['security']), u('dave', ['watcher']), u('owen', ['watcher'])];
const target = (name: string, owners: string[]): Target => ({ name, kind: 'local', labels: {}, owners, local: { command: ['bash'] } });
const TARGETS = [target('web-1', ['owen']), target('db-1', ['dave', 'alice']), target('sandbox', [])];
const base = TEMPLATES[0] as Template;
const TPL: Template[] = [
  { ...base, name: 'plain', approvers: [{ count: 1, role: 'approver' }] },
  { ...base, name: 'secure', approvers: [{ count: 1, group: 'security' }] },
  { ...base, name: 'none', approvers: [] },
];
const GRANTS = new Map<string, Grant>([
  ['g-plain', grantRecord({ id: 'g-plain', template: 'plain' })],
  ['g-secure', grantRecord({ id: 'g-secure', template: 'secure' })],
]);

let seq = 0;
function ev(type: string, over: Partial<AuditEvent> = {}, data: Record<string, unknown> = {}): AuditEvent {
  seq++;
  return {
    id: `e-${seq}`,
    seq,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
    time: new Date(Date.UTC(2026, 0, 1, 9)).toISOString(),
    type: type as AuditEvent['type'],
    code: 'GH0000',
    severity: 'info',
    broker: 'b1',
    actor: 'gatehouse',
    user: 'alice',
    target: 'web-1',
    grantId: 'g-plain',
    incident: 'INC-7',
    sessionId: 's-1',
    source: '10.0.0.9:51000',
    data,
    ...over,
  };
}

describe('audienceFrom', () => {
  const directory = new Directory(USERS);
  let reads = 0;
  const audience = audienceFrom({
    users: () => directory.all(),
    targets: TARGETS,
    templates: TPL,
    getGrant: async (id) => {
      reads++;
      return GRANTS.get(id);
    },
  });

  it.each<[string, Partial<AuditEvent>, Record<string, unknown>, string[]]>([
    // grant.requested names its template in the data: no store read needed.
    ['grant.requested', { grantId: 'g-new' }, { template: 'plain' }, ['bob', 'owen', 'sec']],
    ['grant.break_glass', { grantId: 'g-new', target: 'db-1' }, { template: 'secure' }, ['dave', 'sec']],
    ['session.start', {}, {}, ['bob', 'owen', 'sec']],
    ['session.end', { grantId: 'g-secure' }, {}, ['owen', 'sec']],
    ['command.denied', { target: 'db-1' }, {}, ['bob', 'dave', 'sec']],
    ['session.killed', { target: 'web-1,db-1', grantId: 'g-secure' }, {}, ['dave', 'owen', 'sec']],
    ['anomaly.detected', { target: 'sandbox' }, {}, ['bob', 'sec']],
    // An unknown grant still reaches the target's owners.
    ['session.start', { grantId: 'g-gone' }, {}, ['owen']],
    // The responder is never in their own audience, even as an owner or an approver.
    ['session.start', { user: 'sec', target: 'db-1' }, {}, ['alice', 'bob', 'dave']],
  ])('%s → owners of its targets + approvers of its template, minus the user', async (type, over, data, expected) => {
    expect(await audience(ev(type, over, data))).toEqual(expected);
  });

  it('reads a grant’s template once, then from its cache', async () => {
    reads = 0;
    await audience(ev('session.start', { grantId: 'g-secure' }));
    await audience(ev('session.end', { grantId: 'g-secure' }));
    expect(reads).toBeLessThanOrEqual(1);
  });

  it('follows a user reload: a new approver is told, a removed one is not', async () => {
    expect(await audience(ev('session.start', { target: 'sandbox' }))).toEqual(['bob', 'sec']);
    directory.replace([...USERS.filter((x) => x.name !== 'bob'), u('carol', ['approver']), u('sam', ['responder'], ['security'])]);
    expect(await audience(ev('session.start', { target: 'sandbox' }))).toEqual(['carol', 'sec']);
    expect(await audience(ev('session.start', { target: 'sandbox', grantId: 'g-secure' }))).toEqual(['sam', 'sec']);
  });
});

describe('NotifySink', () => {
  const sink = new NotifySink(notifySchema.parse({ webhook: { url: 'http://127.0.0.1:9/hook' } }), 'chatops', {
    audience: async () => [],
    brokerId: 'b1',
    log: pino({ level: 'silent' }),
    version: 'test',
    now: () => Date.UTC(2026, 0, 1, 9, 0, 30),
  });

  it('takes the default event kinds written by its own broker, fresh ones only', () => {
    for (const type of NOTIFY_DEFAULT_EVENTS) expect(sink.accepts(ev(type))).toBe(true);
    expect(NOTIFY_DEFAULT_EVENTS).toEqual(['grant.requested', 'grant.break_glass', 'session.start', 'session.end', 'command.denied', 'session.killed', 'anomaly.detected']);
    for (const type of ['command.allowed', 'grant.approved', 'recording.closed']) expect(sink.accepts(ev(type))).toBe(false);
    expect(sink.accepts(ev('session.killed', { broker: 'b2' }))).toBe(false);
    expect(sink.accepts(ev('session.killed', { time: new Date(Date.UTC(2026, 0, 1, 7)).toISOString() }))).toBe(false);
  });

  it('session.killed names who killed whose session, where, the reason and the session', () => {
    const e = ev('session.killed', { actor: 'bob', sessionId: 's-42' }, { reason: 'copying the customer table' });
    expect(describeEvent(e)).toBe("bob killed alice's session on web-1 (INC-7): copying the customer table — session s-42");
    expect(JSON.parse(sink.encode(e, ['owen', 'sec']))).toMatchObject({
      text: "bob killed alice's session on web-1 (INC-7): copying the customer table — session s-42\ncc @owen @sec",
      audience: ['owen', 'sec'],
      event: { type: 'session.killed', user: 'alice', sessionId: 's-42', data: { reason: 'copying the customer table' } },
    });
  });

  it('anomaly.detected names the detector, the action, the user, the target and the summary', () => {
    const e = ev('anomaly.detected', { sessionId: 's-9' }, { detector: 'dangerousCommands', action: 'kill', evidence: { summary: 'history-clear: history -c', sessionsEnded: ['s-9'] } });
    expect(describeEvent(e)).toBe('[ANOMALY] dangerousCommands → kill for alice on web-1 (INC-7): history-clear: history -c');
    const idle = ev('anomaly.detected', {}, { detector: 'idle', action: 'kill', evidence: { summary: 'session idle for 15m (the limit is 15m)', idleMs: 900_000, limitMs: 900_000 } });
    expect(describeEvent(idle)).toBe('[ANOMALY] idle → kill for alice on web-1 (INC-7): session idle for 15m (the limit is 15m)');
  });

  it('control characters in a reason never reach the chat', () => {
    expect(describeEvent(ev('session.killed', { actor: 'bob' }, { reason: 'evil\u001b[31m' }))).toBe("bob killed alice's session on web-1 (INC-7): evil?[31m — session s-1");
  });
});
