/**
 * Notifications for people: a target's owners and the grant's approvers are told of a request, a
 * session starting and ending, a denied command — through a generic webhook (HMAC-signed) and a
 * Slack incoming webhook, delivered by the sink worker (a receiver that fails is retried; a message
 * it rejects as malformed is skipped, not allowed to block the rest).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startHarness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const HMAC = 'notify-hmac-secret-0123456789abcdef';
const BOX = { name: 'box', local: { command: ['bash', '--norc', '--noprofile'] }, labels: { env: 'test' }, owners: ['dave'] };

interface Received {
  readonly body: Record<string, unknown>;
  readonly raw: string;
  readonly headers: IncomingHttpHeaders;
}

/** A receiver; `answer` picks the status for each request (default 200). */
async function receiver(answer: (body: Record<string, unknown>, n: number) => number = () => 200): Promise<{ url: string; got: Received[]; attempts: number }> {
  const state = { url: '', got: [] as Received[], attempts: 0 };
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      const status = answer(body, state.attempts++);
      if (status === 200) state.got.push({ body, raw, headers: req.headers });
      res.writeHead(status).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  scope.defer(() => new Promise<void>((r) => server.close(() => r())));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return state;
}

const typeOf = (r: Received): string => String(((r.body.event as Record<string, unknown> | undefined) ?? {}).type ?? '');

describe('notifications', () => {
  it('tells owners and approvers, by name, over a signed webhook and Slack', async () => {
    const hook = await receiver();
    const chat = await receiver();
    const h = await startHarness(scope, {
      targets: [BOX],
      extra: { notify: [{ webhook: { url: hook.url, hmacSecret: HMAC } }, { slack: { url: chat.url, events: ['command.denied', 'anomaly.*'] }, name: 'ops-chat' }] },
    });
    const g = await h.broker.grants.request('alice', { user: 'alice', targets: ['box'], incident: 'INC-N', durationMs: 1_800_000, reason: 'queue stuck' });
    const requested = await until(() => hook.got.find((r) => typeOf(r) === 'grant.requested'), 5_000, 'the request notification');
    expect(requested.body.audience).toEqual(['bob', 'carol', 'dave']);
    expect(requested.body.text).toBe(`alice requested access to box (INC-N) for 30 min under diagnose: "queue stuck" — grant ${g.id}; approve with: gatehouse grant approve ${g.id}\ncc @bob @carol @dave`);
    // Signed like the SIEM webhook sink: HMAC(secret, timestamp + "." + body).
    const ts = String(requested.headers['x-gatehouse-timestamp']);
    expect(requested.headers['x-gatehouse-signature']).toBe(`sha256=${createHmac('sha256', HMAC).update(`${ts}.${requested.raw}`).digest('hex')}`);
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);

    await h.broker.grants.approve('bob', g.id);
    expect((await runSsh(scope, h.target('alice', 'alice:box'), 'echo fine')).code).toBe(0);
    expect((await runSsh(scope, h.target('alice', 'alice:box'), 'rm -rf /var/lib/queue')).code).toBe(126);

    const start = await until(() => hook.got.find((r) => typeOf(r) === 'session.start'), 5_000, 'session.start');
    expect(String(start.body.text)).toMatch(/^alice opened an exec session \(`echo fine`\) on box \(INC-N\) from 127\.0\.0\.1:\d+ — session s-/);
    const end = await until(() => hook.got.find((r) => typeOf(r) === 'session.end'), 5_000, 'session.end');
    expect(String(end.body.text)).toMatch(/^alice's session on box \(INC-N\) ended: exit after \d+ s, exit 0 — session s-/);
    const slackDenied = await until(() => chat.got[0], 5_000, 'the Slack message');
    expect(slackDenied.body.text).toBe('command denied for alice on box (INC-N): `rm -rf /var/lib/queue` — matches deny rule "rm *"\ncc @bob @carol @dave');
    expect((slackDenied.body.blocks as { type: string }[]).map((b) => b.type)).toEqual(['section', 'context']);
    // Slack got only what its filter asked for; the webhook got the default set, never grant.approved.
    expect(chat.got.map((r) => String(r.body.text).split(' ')[0])).toEqual(['command']);
    expect(hook.got.map(typeOf)).not.toContain('grant.approved');
    expect(await h.broker.store.getCursor('ops-chat')).toBeGreaterThan(0);
  });

  it('retries a receiver that fails, and skips a message it rejects as malformed', async () => {
    // 500 for the first two attempts, 400 for grant.requested of INC-BAD, 200 otherwise.
    const hook = await receiver((body, n) => (n < 2 ? 500 : (body.event as { incident?: string }).incident === 'INC-BAD' ? 400 : 200));
    const h = await startHarness(scope, { extra: { notify: [{ webhook: { url: hook.url, events: ['grant.requested'] } }] } });
    await h.broker.grants.request('alice', { user: 'alice', targets: ['sandbox'], incident: 'INC-1', durationMs: 600_000, reason: 'first' });
    await h.broker.grants.request('alice', { user: 'alice', targets: ['sandbox'], incident: 'INC-BAD', durationMs: 600_000, reason: 'rejected' });
    await h.broker.grants.request('alice', { user: 'alice', targets: ['sandbox'], incident: 'INC-3', durationMs: 600_000, reason: 'third' });
    await until(() => hook.got.length === 2, 10_000, 'two deliveries');
    expect(hook.got.map((r) => (r.body.event as { incident: string }).incident)).toEqual(['INC-1', 'INC-3']);
    expect(hook.attempts).toBeGreaterThanOrEqual(4);
    expect(hook.got[0]?.headers['x-gatehouse-signature']).toBeUndefined();
  });
});
