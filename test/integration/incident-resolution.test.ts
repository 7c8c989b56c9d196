/**
 * Access lives as long as its incident. A resolved incident revokes its grants and ends their live
 * sessions, learnt by polling the ticket system (a local server speaking PagerDuty's and Jira's
 * shapes) or from `POST /hooks/incident` (Bearer or HMAC). Real OpenSSH client sessions; metrics
 * for time-to-grant and time-to-revoke observed on the way.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;
const SECRET = 'incident-webhook-secret-0123456789';
const LIMIT_MS = 100;
/**
 * The 100 ms budget is the broker's. On a loaded CI machine the process is not always scheduled;
 * time the event loop demonstrably did not get (measured from `lag.reset()`, just before the
 * trigger, to the assertion) is added back, so the bound stays ~100 ms on a quiet machine and the
 * test still fails when the broker is slow.
 */
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
beforeEach(() => lag.reset());
const budget = (): number => LIMIT_MS + lag.max / 1e6;
const LISTEN = { ssh: '127.0.0.1:0', grpc: '127.0.0.1:0', http: '127.0.0.1:0' };

/** A ticket system: GET /pd/incidents/ID (PagerDuty) and /jira/issue/ID (Jira), statuses set by the test. */
async function ticketSystem(): Promise<{ url: string; status: Map<string, string>; auth: string[] }> {
  const status = new Map<string, string>();
  const auth: string[] = [];
  const server = createServer((req, res) => {
    auth.push(String(req.headers.authorization));
    const [, kind, , id = ''] = (req.url ?? '').split('/');
    const s = status.get(decodeURIComponent(id));
    if (s === undefined) return void res.writeHead(404).end();
    if (s === 'down') return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(kind === 'pd' ? { incident: { status: s } } : { fields: { status: { statusCategory: { key: s } } } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  scope.defer(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, status, auth };
}

async function liveShell(h: Harness, incident: string): Promise<{ pty: PtySsh; start: AuditEvent; grantId: string }> {
  const g = await h.grant({ targets: ['sandbox'], incident });
  const pty = new PtySsh(scope, h.target('alice', `alice:sandbox:${g.id}`));
  await pty.waitFor(PROMPT);
  const start = await until(async () => (await h.events('session.start')).find((e) => e.grantId === g.id));
  return { pty, start, grantId: g.id };
}

const post = (h: Harness, body: string, headers: Record<string, string>): Promise<Response> =>
  fetch(`http://127.0.0.1:${h.broker.ports.http ?? 0}/hooks/incident`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('incident resolution by polling the ticket system', () => {
  it('PagerDuty: a closed incident cannot be asked for; resolving an open one revokes its grant and ends the session', async () => {
    const pd = await ticketSystem();
    pd.status.set('INC-OPEN', 'triggered').set('INC-DONE', 'resolved');
    const h = await startHarness(scope, { extra: { tickets: { http: { url: `${pd.url}/pd/incidents/{incident}`, preset: 'pagerduty', authorization: 'Token token=pd-test' }, pollInterval: '200ms' } } });
    await expect(h.grant({ targets: ['sandbox'], incident: 'INC-DONE' })).rejects.toMatchObject({ code: 'GH_ERR_TICKET', message: 'incident INC-DONE is not open in the ticket system' });
    await expect(h.grant({ targets: ['sandbox'], incident: 'INC-NOPE' })).rejects.toMatchObject({ code: 'GH_ERR_TICKET' });
    const { pty, start, grantId } = await liveShell(h, 'INC-OPEN');
    expect(pd.auth).toContain('Token token=pd-test');

    // The ticket system going down cuts nobody off.
    pd.status.set('INC-OPEN', 'down');
    const asked = pd.auth.length;
    await until(() => pd.auth.length >= asked + 2, 5_000, 'two polls while down');
    expect((await h.broker.store.getGrant(grantId))?.state).toBe('active');

    lag.reset();
    pd.status.set('INC-OPEN', 'resolved');
    expect(await pty.exited).toBe(255);
    expect(pty.output).toContain(`[gatehouse] grant ${grantId} was revoked by gatehouse: incident INC-OPEN resolved (ticket system)`);
    const revoked = (await h.events('grant.revoked'))[0] as AuditEvent;
    expect(revoked.actor).toBe('gatehouse');
    const end = await until(async () => (await h.events('session.end')).find((e) => e.sessionId === start.sessionId));
    expect(end.data.reason).toBe('revoked');
    expect(Date.parse(end.time) - Date.parse(revoked.time)).toBeLessThan(budget());
  });

  it('Jira: status category done revokes; new and indeterminate are open', async () => {
    const jira = await ticketSystem();
    jira.status.set('OPS-1', 'new').set('OPS-2', 'indeterminate');
    const h = await startHarness(scope, { extra: { tickets: { http: { url: `${jira.url}/jira/issue/{incident}`, preset: 'jira', authorization: 'Bearer jira-test' }, pollInterval: '200ms' } } });
    const a = await h.grant({ targets: ['sandbox'], incident: 'OPS-1' });
    const b = await h.grant({ targets: ['sandbox'], incident: 'OPS-2' });
    jira.status.set('OPS-1', 'done');
    await until(async () => (await h.broker.store.getGrant(a.id))?.state === 'revoked', 5_000, 'OPS-1 revoked');
    expect((await h.broker.store.getGrant(a.id))?.endReason).toBe('incident OPS-1 resolved (ticket system)');
    expect((await h.broker.store.getGrant(b.id))?.state).toBe('active');
    expect(jira.auth).toContain('Bearer jira-test');
  });
});

describe('POST /hooks/incident', () => {
  it('authenticates (Bearer, HMAC), ignores open statuses, and revokes a resolved incident within 100 ms', async () => {
    const h = await startHarness(scope, { extra: { listen: LISTEN, tickets: { static: ['INC-7', 'INC-8'], pollInterval: 0, webhookSecret: SECRET } } });
    await expect(h.grant({ targets: ['sandbox'], incident: 'INC-9' })).rejects.toMatchObject({ code: 'GH_ERR_TICKET', message: 'incident INC-9 is not an open incident' });
    const seven = await liveShell(h, 'INC-7');
    const body = JSON.stringify({ incident: 'INC-7', status: 'resolved' });

    expect((await post(h, body, {})).status).toBe(401);
    expect((await post(h, body, { authorization: 'Bearer wrong-secret-wrong-secret' })).status).toBe(401);
    const bad = await post(h, body, { 'x-gatehouse-timestamp': String(Math.floor(Date.now() / 1000)), 'x-gatehouse-signature': `sha256=${'0'.repeat(64)}` });
    expect(bad.status).toBe(401);
    expect((await post(h, '{"incident": 7}', { authorization: `Bearer ${SECRET}` })).status).toBe(400);
    const ack = await post(h, JSON.stringify({ incident: 'INC-7', status: 'acknowledged' }), { authorization: `Bearer ${SECRET}` });
    expect([ack.status, await ack.json()]).toEqual([202, { incident: 'INC-7', status: 'acknowledged', revoked: [] }]);
    expect((await h.broker.store.getGrant(seven.grantId))?.state).toBe('active');

    lag.reset();
    const ok = await post(h, body, { authorization: `Bearer ${SECRET}` });
    expect([ok.status, await ok.json()]).toEqual([200, { incident: 'INC-7', status: 'resolved', revoked: [seven.grantId] }]);
    expect(await seven.pty.exited).toBe(255);
    const revoked = (await h.events('grant.revoked'))[0] as AuditEvent;
    expect(revoked.data.reason).toBe('incident INC-7 resolved (webhook)');
    const end = await until(async () => (await h.events('session.end')).find((e) => e.sessionId === seven.start.sessionId));
    expect(end.data.reason).toBe('revoked');
    expect(Date.parse(end.time) - Date.parse(revoked.time)).toBeLessThan(budget());
    // Again: nothing left to revoke.
    expect(await (await post(h, body, { authorization: `Bearer ${SECRET}` })).json()).toMatchObject({ revoked: [] });

    // HMAC over "timestamp.body", as Gatehouse's own webhook sinks sign.
    const eight = await h.grant({ targets: ['sandbox'], incident: 'INC-8' });
    const exec = runSsh(scope, h.target('alice', `alice:sandbox:${eight.id}`), 'sleep 30');
    await until(async () => (await h.events('session.start')).find((e) => e.grantId === eight.id));
    const body8 = JSON.stringify({ incident: 'INC-8', status: 'closed' });
    const ts = String(Math.floor(Date.now() / 1000));
    const stale = String(Math.floor(Date.now() / 1000) - 3_600);
    const sign = (t: string): string => `sha256=${createHmac('sha256', SECRET).update(`${t}.${body8}`).digest('hex')}`;
    expect((await post(h, body8, { 'x-gatehouse-timestamp': stale, 'x-gatehouse-signature': sign(stale) })).status).toBe(401);
    const signed = await post(h, body8, { 'x-gatehouse-timestamp': ts, 'x-gatehouse-signature': sign(ts) });
    expect(await signed.json()).toEqual({ incident: 'INC-8', status: 'closed', revoked: [eight.id] });
    expect((await exec).code).toBe(255);
    await until(async () => (await h.events('session.end')).find((e) => e.grantId === eight.id));
    await h.broker.events.settled();

    // Metrics: time to grant was observed for both grants, time to session end for both sessions.
    const metrics = await (await fetch(`http://127.0.0.1:${h.broker.ports.http ?? 0}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_time_to_grant_seconds_count 2$/m);
    expect(metrics).toMatch(/^gatehouse_time_to_session_end_seconds_count 2$/m);
    expect(metrics).toMatch(/^gatehouse_time_to_session_end_seconds_bucket\{le="0.1"\} 2$/m);
    expect(metrics).toMatch(/^gatehouse_grants\{state="active"\} 0$/m);
  });

  it('does not exist without a secret', async () => {
    const h = await startHarness(scope, { extra: { listen: LISTEN } });
    expect((await post(h, '{}', { authorization: `Bearer ${SECRET}` })).status).toBe(404);
  });
});
