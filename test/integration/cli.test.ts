/** The `gatehouse` binary as users run it: JSON documents on stdout, one line on stderr, exit codes. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { fileScope } from '../fixtures/scope.js';

const files = fileScope();


const cli = runCli;

const as = (h: Harness, user: string): Record<string, string> => ({ GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users[user]?.token ?? '' });

describe('gatehouse grant', () => {
  it('request, approve, list, revoke — JSON documents with the contract fields', async () => {
    const h = await startHarness(files);
    const req = await cli(['grant', 'request', '--user', 'alice', '--target', 'sandbox', '--incident', 'INC-42', '--duration', '30m', '--reason', 'disk full on sandbox', '--json'], as(h, 'alice'));
    expect(req.stderr).toBe('');
    expect(req.code).toBe(0);
    const g = JSON.parse(req.stdout) as Record<string, unknown>;
    expect(g).toMatchObject({ state: 'pending', user: 'alice', targets: ['sandbox'], incident: 'INC-42', approvals: [], expiresAt: null });
    expect(g.id).toMatch(/^g-/);
    expect(Date.parse(String(g.requestedAt))).not.toBeNaN();

    const self = await cli(['grant', 'approve', String(g.id), '--json'], as(h, 'alice'));
    expect(self.code).toBe(1);
    expect(self.stdout).toBe('');
    expect(self.stderr.trim().split('\n')).toHaveLength(1);
    expect(self.stderr).toMatch(/^gatehouse: alice needs one of the roles: approver\n$/);

    const ok = await cli(['grant', 'approve', String(g.id), '--json'], as(h, 'bob'));
    expect(ok.code).toBe(0);
    const approved = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(approved.state).toBe('active');
    expect((approved.approvals as { by: string }[]).map((a) => a.by)).toEqual(['bob']);
    expect(Date.parse(String(approved.expiresAt)) - Date.parse(String((approved.approvals as { at: string }[])[0]?.at))).toBe(30 * 60_000);

    const list = await cli(['grant', 'list', '--active', '--json'], as(h, 'bob'));
    const arr = JSON.parse(list.stdout) as Record<string, unknown>[];
    expect(arr.map((x) => x.id)).toEqual([g.id]);
    for (const key of ['id', 'state', 'user', 'targets', 'incident', 'requestedAt', 'approvals', 'expiresAt']) expect(arr[0]).toHaveProperty(key);

    const human = await cli(['grant', 'list'], as(h, 'bob'));
    expect(human.stdout).toContain(String(g.id));
    expect(human.stdout).toContain('active');

    const rev = await cli(['grant', 'revoke', String(g.id), '--reason', 'done', '--json'], as(h, 'bob'));
    expect(JSON.parse(rev.stdout)).toMatchObject({ state: 'revoked', endReason: 'done', endedBy: 'bob' });
    const again = await cli(['grant', 'approve', String(g.id)], as(h, 'carol'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is revoked, not pending');
  });

  it('deny needs a reason; a responder sees only their own grants', async () => {
    const h = await startHarness(files);
    const req = await cli(['grant', 'request', '--user', 'erin', '--target', 'sandbox', '--incident', 'INC-43', '--duration', '10m', '--reason', 'x', '--json'], as(h, 'erin'));
    const id = String((JSON.parse(req.stdout) as { id: string }).id);
    const noReason = await cli(['grant', 'deny', id], as(h, 'bob'));
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toBe('gatehouse: --reason is required\n');
    const denied = await cli(['grant', 'deny', id, '--reason', 'use the runbook', '--json'], as(h, 'bob'));
    expect(JSON.parse(denied.stdout)).toMatchObject({ state: 'denied', endReason: 'use the runbook' });
    const alices = await cli(['grant', 'list', '--json'], as(h, 'alice'));
    expect(JSON.parse(alices.stdout)).toEqual([]);
  });
});

describe('refusals: one line on stderr, non-zero exit', () => {
  it('bad input exits 2', async () => {
    const h = await startHarness(files);
    const r = await cli(['grant', 'request', '--user', 'alice', '--target', 'sandbox', '--duration', '30m', '--reason', 'x'], as(h, 'alice'));
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('gatehouse: --incident is required: every grant is tied to an incident ticket\n');
    const d = await cli(['grant', 'request', '--user', 'alice', '--target', 'sandbox', '--incident', 'I-1', '--duration', 'soon', '--reason', 'x'], as(h, 'alice'));
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/^gatehouse: duration: invalid duration "soon"/);
    const flag = await cli(['grant', 'list', '--bogus'], as(h, 'alice'));
    expect(flag.code).toBe(2);
  });

  it('a duration over the template cap is refused', async () => {
    const h = await startHarness(files);
    const r = await cli(['grant', 'request', '--user', 'alice', '--target', 'sandbox', '--incident', 'I-2', '--duration', '3h', '--reason', 'x'], as(h, 'alice'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gatehouse: template diagnose allows at most 2h, asked for 3h\n');
  });

  it('a bad token exits 1, an unreachable broker exits 4', async () => {
    const h = await startHarness(files);
    const bad = await cli(['grant', 'list'], { GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: 'ght_nope' });
    expect(bad).toMatchObject({ code: 1, stderr: 'gatehouse: the API token is not valid\n' });
    const none = await cli(['grant', 'list'], { GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}` });
    expect(none).toMatchObject({ code: 1, stderr: 'gatehouse: no API token: pass --token or set GATEHOUSE_TOKEN\n' });
    const down = await cli(['grant', 'list', '--server', '127.0.0.1:1', '--token', 'x']);
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/^gatehouse: cannot reach the broker at 127\.0\.0\.1:1/);
  });
});

describe('gatehouse sessions', () => {
  it('lists sessions with the contract fields', async () => {
    const h = await startHarness(files);
    await h.grant({ targets: ['sandbox'] });
    const { runSsh } = await import('../fixtures/ssh.js');
    await runSsh(files, h.target('alice', 'alice:sandbox'), 'echo hi');
    const { until } = await import('../fixtures/scope.js');
    const list = await until(async () => {
      const r = await cli(['sessions', 'list', '--json'], as(h, 'dave'));
      const a = JSON.parse(r.stdout) as Record<string, unknown>[];
      return a.length === 1 && a[0]?.state === 'ended' && a;
    });
    expect(list[0]).toMatchObject({ grantId: expect.stringMatching(/^g-/), user: 'alice', target: 'sandbox', state: 'ended', endReason: 'exit', exitCode: 0 });
    for (const key of ['id', 'grantId', 'user', 'target', 'state', 'startedAt', 'endedAt', 'endReason', 'recording']) expect(list[0]).toHaveProperty(key);
    const kill = await cli(['sessions', 'kill', String(list[0]?.id), '--reason', 'x'], as(h, 'bob'));
    expect(kill.code).toBe(1);
    expect(kill.stderr).toContain('already ended');
  });
});
