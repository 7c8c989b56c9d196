/**
 * Approvals as approvers give them, through the `gatehouse` binary over gRPC: TOTP at approval
 * (valid, wrong, replayed), self-approval and approval under an alias refused, and approvals voided
 * by a change to the request (`grant update`). The approved access is then used with the real
 * OpenSSH client.
 */
import { spawn } from 'node:child_process';
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { BIN } from '../fixtures/child-broker.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { makeToken } from '../fixtures/keys.js';
import { testScope } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const BOB = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const CAROL = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const ANN = 'MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK';
const code = (secret: string): string => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(h: Harness, token: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (c) => resolve({ code: c, stdout, stderr }));
  });
}
const as = (h: Harness, user: string): string => h.users[user]?.token ?? '';
const json = (r: Run): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;
/** The gRPC API as `user` (setup steps; what is under test goes through the binary). */
function api(h: Harness, user: string): (method: string, req: Record<string, unknown>) => Promise<Record<string, unknown>> {
  const c = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: as(h, user) });
  scope.defer(() => c.close());
  return c.call;
}
const request = (h: Harness, user: string, template = ''): Promise<Record<string, unknown>> =>
  api(h, user)('requestGrant', { user, targets: ['sandbox'], incident: 'INC-77', duration: '30m', reason: 'disk full', template, breakGlass: false });

describe('TOTP at approval', () => {
  it('needs a code, refuses a wrong one and a replayed one, and records an MFA approval', async () => {
    const bob2 = makeToken();
    const h = await startHarness(scope, {
      templateFields: { mfa: { approve: true } },
      userFields: { bob: { totp: BOB }, carol: { totp: CAROL } },
      // Bob again under another name, with the same TOTP secret.
      users: [{ name: 'bob-2', roles: ['approver'], totp: BOB, apiTokenSha256: bob2.sha256 }],
    });
    const g = await request(h, 'alice');
    expect(g.state).toBe('pending');

    const none = await cli(h, as(h, 'bob'), ['grant', 'approve', String(g.id)]);
    expect([none.code, none.stderr]).toEqual([1, 'gatehouse: a TOTP code is required: pass --totp CODE\n']);
    const wrong = await cli(h, as(h, 'bob'), ['grant', 'approve', String(g.id), '--totp', code(BOB) === '123456' ? '654321' : '123456']);
    expect([wrong.code, wrong.stderr]).toEqual([1, 'gatehouse: the TOTP code is wrong or expired\n']);

    const first = code(BOB);
    const ok = await cli(h, as(h, 'bob'), ['grant', 'approve', String(g.id), '--totp', first, '--json']);
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({ state: 'active', approvals: [{ by: 'bob', mfa: true }] });

    // The same code again, on another grant: burnt.
    const g2 = await request(h, 'erin');
    const replay = await cli(h, as(h, 'bob'), ['grant', 'approve', String(g2.id), '--totp', first]);
    expect([replay.code, replay.stderr]).toEqual([1, 'gatehouse: this TOTP code was already used; wait for the next one\n']);
    // Nor through the alias: the code is spent for the secret, whatever the name.
    const viaAlias = await cli(h, bob2.token, ['grant', 'approve', String(g2.id), '--totp', first]);
    expect([viaAlias.code, viaAlias.stderr]).toEqual([1, 'gatehouse: this TOTP code was already used; wait for the next one\n']);
    expect((await h.broker.store.getGrant(String(g2.id)))?.state).toBe('pending');
    const refusals = await h.events('grant.approval_refused');
    expect(refusals.map((e) => [e.actor, e.data.error])).toEqual([
      ['bob', 'GH_ERR_MFA_REQUIRED'],
      ['bob', 'GH_ERR_MFA_INVALID'],
      ['bob', 'GH_ERR_MFA_INVALID'],
      ['bob-2', 'GH_ERR_MFA_INVALID'],
    ]);
    expect((await h.events('grant.approved'))[0]?.data).toMatchObject({ mfa: true });

    // The approved access works with the real ssh client.
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo approved-with-mfa');
    expect(r.stdout.toString()).toBe('approved-with-mfa\n');
  });
});

describe('separation of duties', () => {
  it('refuses self-approval and approval under an alias (a second name sharing a TOTP secret)', async () => {
    const alias = makeToken();
    const h = await startHarness(scope, {
      userFields: { alice: { totp: ANN } },
      users: [
        { name: 'alice-ops', roles: ['approver'], totp: ANN, apiTokenSha256: alias.sha256 },
        { name: 'ann', roles: ['responder', 'approver'], apiTokenSha256: makeToken().sha256 },
      ],
    });
    const g = await request(h, 'alice');
    const viaAlias = await cli(h, alias.token, ['grant', 'approve', String(g.id)]);
    expect([viaAlias.code, viaAlias.stderr]).toEqual([1, `gatehouse: alice-ops cannot approve grant ${String(g.id)}: it is their own request\n`]);

    // A responder who is also an approver cannot approve their own request either.
    const ann = await h.broker.grants.request('ann', { user: 'ann', targets: ['sandbox'], incident: 'INC-77', durationMs: 600_000, reason: 'self' });
    await expect(h.broker.grants.approve('ann', ann.id)).rejects.toMatchObject({ code: 'GH_ERR_SELF_APPROVAL' });
    expect((await h.events('grant.approval_refused')).map((e) => [e.actor, e.data.error])).toEqual([
      ['alice-ops', 'GH_ERR_SELF_APPROVAL'],
      ['ann', 'GH_ERR_SELF_APPROVAL'],
    ]);
    expect((await h.broker.store.getGrant(String(g.id)))?.approvals).toEqual([]);
    // No approval, no session.
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi')).code).toBe(255);
  });

  it('voids earlier approvals when the requester changes the request (grant update)', async () => {
    const h = await startHarness(scope, { templates: [{ name: 'dual', approvals: 2, maxDuration: '1h', targets: ['sandbox'], commands: { allow: ['echo *'] } }] });
    const g = await request(h, 'alice', 'dual');
    expect(await api(h, 'bob')('approveGrant', { id: g.id, totp: '' })).toMatchObject({ state: 'pending', approvals: [{ by: 'bob' }], approvalsNeeded: 2 });

    const changed = await cli(h, as(h, 'alice'), ['grant', 'update', String(g.id), '--duration', '45m', '--json']);
    expect(changed.code).toBe(0);
    expect(json(changed)).toMatchObject({ state: 'pending', durationMs: 45 * 60_000 });
    const updated = (await h.events('grant.updated'))[0];
    expect(updated?.data).toMatchObject({ durationMs: 45 * 60_000, approvalsVoided: 1 });

    // Carol's approval is the only one that counts now: still pending.
    expect(await api(h, 'carol')('approveGrant', { id: g.id, totp: '' })).toMatchObject({ state: 'pending' });
    // Bob approves the new content: active.
    const two = await api(h, 'bob')('approveGrant', { id: g.id, totp: '' });
    expect(two.state).toBe('active');
    expect(Date.parse(String(two.expiresAt)) - Date.parse(String((two.approvals as { at: string }[]).at(-1)?.at))).toBe(45 * 60_000);
    // An active grant cannot be changed.
    const late = await cli(h, as(h, 'alice'), ['grant', 'update', String(g.id), '--reason', 'more']);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('only a pending request can change');
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo dual-approved')).stdout.toString()).toBe('dual-approved\n');
  });

  it('voids earlier approvals when the requester changes the targets (grant update --target)', async () => {
    const h = await startHarness(scope, {
      targets: [{ name: 'sandbox-2', local: { command: ['bash', '--norc', '--noprofile'] }, labels: { env: 'test' } }],
      templates: [{ name: 'dual', approvals: 2, maxDuration: '1h', targets: ['sandbox', 'sandbox-2'], commands: { allow: ['echo *'] } }],
    });
    const g = await request(h, 'alice', 'dual');
    expect(await api(h, 'bob')('approveGrant', { id: g.id, totp: '' })).toMatchObject({ state: 'pending', approvals: [{ by: 'bob' }] });

    const changed = await cli(h, as(h, 'alice'), ['grant', 'update', String(g.id), '--target', 'sandbox-2', '--json']);
    expect([changed.code, changed.stderr]).toEqual([0, '']);
    expect(json(changed)).toMatchObject({ state: 'pending', targets: ['sandbox-2'] });
    expect((await h.events('grant.updated'))[0]?.data).toMatchObject({ targets: ['sandbox-2'], approvalsVoided: 1 });

    // Bob's approval was for sandbox: with carol's alone the new content is still pending.
    expect(await api(h, 'carol')('approveGrant', { id: g.id, totp: '' })).toMatchObject({ state: 'pending' });
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox-2'), 'echo early')).code).toBe(255);
    expect((await api(h, 'bob')('approveGrant', { id: g.id, totp: '' })).state).toBe('active');
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox-2'), 'echo moved')).stdout.toString()).toBe('moved\n');
    // The old target is no longer covered.
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo old')).code).toBe(255);
  });
});
