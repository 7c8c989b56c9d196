/**
 * Exec through the broker with the real OpenSSH client into a real sshd: bytes, exit status,
 * stdin piping, and the refusals that name why.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../fixtures/ports.js';
import { describe, expect, it } from 'vitest';
import { startHarness } from '../fixtures/harness.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';
import { startSshd } from '../fixtures/sshd.js';

const files = fileScope();
const scope = testScope();

describe('exec through the gateway', () => {
  it('passes stdout, stderr and the exit status through unchanged', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), "printf 'out\\n'; printf 'err\\n' >&2; exit 7");
    expect(r.stdout.toString()).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(7);
    const ends = await until(async () => {
      const e = await h.events('session.end');
      return e.length > 0 && e;
    });
    expect(ends).toHaveLength(1);
    expect(ends[0]?.data).toMatchObject({ reason: 'exit', exitCode: 7 });
  });

  it('accepts the USER+TARGET form', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const r = await runSsh(scope, h.target('alice', 'alice+web-1'), 'echo plus');
    expect(r.stdout.toString()).toBe('plus\n');
    expect(r.code).toBe(0);
  });

  it('pipes stdin through (tar c | ssh tar x) byte for byte', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'sha256sum', { stdin: payload });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(payload).digest('hex'));
    const dir = await scope.tempDir();
    const t = await runSsh(scope, h.target('alice', 'alice:web-1'), `mkdir -p ${dir}/x && cd ${dir}/x && tar x && cat hello.txt`, { stdin: await tarOf({ 'hello.txt': 'from tar\n' }) });
    expect(t.stdout.toString()).toBe('from tar\n');
    expect(t.code).toBe(0);
  });

  it('delivers binary output byte-exact', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const dir = await scope.tempDir();
    const blob = randomBytes(4 * 1024 * 1024);
    await writeFile(join(dir, 'blob.bin'), blob);
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), `cat ${dir}/blob.bin`);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(blob.length);
    expect(r.stdout.equals(blob)).toBe(true);
  });
});

describe('refusals name why', () => {
  it('no grant', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.code).toBe(255);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^gatehouse: refused: no grant for alice on web-1/m);
    const refused = await h.events('session.refused');
    expect(refused.at(-1)?.data).toMatchObject({ error: 'GH_ERR_NO_GRANT' });
    expect(await h.events('session.start')).toHaveLength(0);
  });

  it('pending', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.broker.grants.request('alice', { user: 'alice', targets: ['web-1'], incident: 'INC-2', durationMs: 600_000, reason: 'r' });
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`grant ${g.id} for web-1 is pending approval`);
  });

  it('revoked', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.grant();
    await h.broker.grants.revoke('bob', g.id, 'incident closed');
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.stderr).toContain(`grant ${g.id} for web-1 was revoked by bob: incident closed`);
    expect(r.code).toBe(255);
  });

  it('expired', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.grant({ duration: 300 });
    await new Promise((r) => setTimeout(r, 400));
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.stderr).toContain(`grant ${g.id} for web-1 expired`);
    expect(r.code).toBe(255);
  });

  it('denied', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.broker.grants.request('alice', { user: 'alice', targets: ['web-1'], incident: 'INC-3', durationMs: 600_000, reason: 'r' });
    await h.broker.grants.deny('bob', g.id, 'not during the freeze');
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.stderr).toContain(`grant ${g.id} for web-1 was denied by bob: not during the freeze`);
  });

  it('wrong target', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.grant({ targets: ['web-2'] });
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo hi');
    expect(r.stderr).toContain(`wrong target: grant ${g.id} covers web-2, not web-1`);
  });

  it('unknown target', async () => {
    const h = await startHarness(scope);
    const r = await runSsh(scope, h.target('alice', 'alice:nope-9'), 'echo hi');
    expect(r.stderr).toContain('refused: unknown target nope-9');
    expect(r.code).toBe(255);
  });

  it("another user's key is not accepted", async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const r = await runSsh(scope, h.target('erin', 'alice:web-1'), 'echo hi');
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('Permission denied');
    expect(await h.events('session.start')).toHaveLength(0);
  });

  it('a pinned host key that does not match refuses the session, with an event', async () => {
    const sshd = await startSshd(files);
    const other = await startSshd(files);
    const h = await startHarness(scope, {
      sshd,
      targets: [{ name: 'web-evil', ssh: { host: '127.0.0.1', port: other.port, user: other.user, hostKey: sshd.hostKey, privateKeyFile: other.clientKey.privatePath }, labels: { env: 'prod' } }],
    });
    await h.grant({ targets: ['web-evil'] });
    const r = await runSsh(scope, h.target('alice', 'alice:web-evil'), 'echo hi');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/host key mismatch for web-evil .*expected SHA256:\S+, got SHA256:\S+; refusing to connect/);
    const mismatch = await until(async () => {
      const m = await h.events('upstream.host_key_mismatch');
      return m.length > 0 && m;
    });
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]?.severity).toBe('critical');
  });
});

describe('channels the template does not allow', () => {
  it('refuses local port forwarding, agent forwarding and the sftp subsystem', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const port = await freePort();
    const agentDir = await scope.tempDir();
    const agent = spawn('ssh-agent', ['-D', '-a', join(agentDir, 'agent.sock')], { stdio: 'ignore' });
    scope.defer(() => agent.kill());
    await until(() => existsSync(join(agentDir, 'agent.sock')));
    const fwd = runSsh(scope, h.target('alice', 'alice:web-1'), 'sleep 2', { extra: ['-L', `127.0.0.1:${port}:127.0.0.1:${sshd.port}`, '-A'], env: { SSH_AUTH_SOCK: join(agentDir, 'agent.sock') } });
    // The client opens a direct-tcpip channel only when the forwarded port is used: use it.
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.once('close', () => resolve(true));
            s.once('error', () => resolve(true));
          });
          s.once('error', () => resolve(false));
        }),
      5_000,
      'the forwarded port',
    );
    const sftp = await runSsh(scope, h.target('alice', 'alice:web-1'), 'sftp', { extra: ['-s'] });
    expect(sftp.code).not.toBe(0);
    expect(sftp.stderr).toMatch(/subsystem request failed/);
    const refused = await until(async () => {
      const m = (await h.events('session.refused')).map((e) => String(e.data.message));
      return m.some((x) => x.includes('port forwarding is not allowed')) && m;
    });
    expect(refused.some((m) => m.includes('subsystem sftp is not allowed'))).toBe(true);
    expect(refused.some((m) => m.includes('agent forwarding is not supported'))).toBe(true);
    expect((await fwd).code).toBe(0);
  });
});

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const d = mkdtempSync(join(tmpdir(), 'gh-tar-'));
  try {
    for (const [n, c] of Object.entries(files)) writeFileSync(join(d, n), c);
    return spawnSync('tar', ['c', '-C', d, ...Object.keys(files)]).stdout;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}
