/**
 * Channel shapes the broker cannot judge are refused before anything runs on the target: a shell
 * without a terminal (its commands come on stdin, where no screen shows them to the inspector),
 * and a subsystem on a target that has none (a local or ssm connector would open a plain shell).
 * Real OpenSSH client (ssh, sftp) → Gatehouse → a local bash target or a real sshd.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startHarness, TEST_RULES, type Harness } from '../fixtures/harness.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { runSsh, sshArgs } from '../fixtures/ssh.js';
import { startSshd } from '../fixtures/sshd.js';

const files = fileScope();
const scope = testScope();

const NO_PTY =
  "gatehouse: refused: a shell without a terminal cannot be inspected (template diagnose inspects commands): connect with a terminal (ssh -t) or run one command (ssh HOST 'command')\n";

async function refusals(h: Harness): Promise<{ error: unknown; message: unknown }[]> {
  return (await h.events('session.refused')).map((e) => ({ error: e.data.error, message: e.data.message }));
}

describe('a shell without a terminal', () => {
  it('is refused (ssh -T, and commands piped on stdin): nothing on stdin reaches the target', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const victim = join(h.dir, 'victim');
    await mkdir(victim);
    // `rm` is denied by the template; on an uninspected shell it would run all the same.
    const t = await runSsh(scope, h.target('alice', 'alice:sandbox'), undefined, { extra: ['-T'], stdin: `rm -rf ${victim}\n` });
    expect(t.stderr).toBe(NO_PTY);
    expect(t.code).toBe(255);
    expect(t.stdout.length).toBe(0);
    // No -T: ssh asks for no terminal anyway when its stdin is not one.
    const piped = await runSsh(scope, h.target('alice', 'alice:sandbox'), undefined, { stdin: `rm -rf ${victim}\necho ran\n` });
    expect(piped.stderr).toBe(NO_PTY);
    expect(piped.code).toBe(255);
    expect(piped.stdout.toString()).toBe('');
    expect(existsSync(victim)).toBe(true);
    const refused = await until(async () => {
      const r = await refusals(h);
      return r.length >= 2 && r;
    });
    expect(refused).toEqual([
      { error: 'GH_ERR_NO_PTY', message: NO_PTY.slice('gatehouse: refused: '.length, -1) },
      { error: 'GH_ERR_NO_PTY', message: NO_PTY.slice('gatehouse: refused: '.length, -1) },
    ]);
    expect(await h.events('session.start')).toHaveLength(0);
    // A command per exec is still judged and runs.
    const exec = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo still-fine', { extra: ['-T'] });
    expect(exec.stdout.toString()).toBe('still-fine\n');
    expect(exec.code).toBe(0);
  });

  it('is refused on an ssh target too, before the upstream is opened', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const marker = join(h.dir, 'marker');
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), undefined, { extra: ['-T'], stdin: `touch ${marker}\n` });
    expect(r.stderr).toBe(NO_PTY);
    expect(r.code).toBe(255);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs where the template does not inspect (inspect: false)', async () => {
    const h = await startHarness(scope, { templates: [{ name: 'uninspected', approvals: 1, maxDuration: '2h', targets: ['env=test'], inspect: false, commands: TEST_RULES }] });
    await h.grant({ targets: ['sandbox'], template: 'uninspected' });
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), undefined, { extra: ['-T'], stdin: 'echo from-stdin\nexit 3\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('from-stdin\n');
    expect(r.code).toBe(3);
  });
});

describe('subsystems', () => {
  it('are refused on a local target even when the template lists them', async () => {
    const h = await startHarness(scope, { templateFields: { forwarding: { subsystems: ['sftp'] } } });
    await h.grant({ targets: ['sandbox'] });
    const marker = join(h.dir, 'marker');
    // Before the fix, the local connector ignored the subsystem and ran bash on pipes: this ran.
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'sftp', { extra: ['-s'], stdin: `touch ${marker}\n` });
    expect(r.stderr).toMatch(/subsystem request failed/);
    expect(r.code).toBe(255);
    expect(existsSync(marker)).toBe(false);
    const refused = await until(async () => {
      const m = await refusals(h);
      return m.length > 0 && m;
    });
    expect(refused).toEqual([{ error: 'GH_ERR_CHANNEL_REFUSED', message: 'subsystem sftp is passed through only to ssh targets, and sandbox is a local target' }]);
    expect(await h.events('session.start')).toHaveLength(0);
  });

  it('pass through to an ssh target whose template lists them (real sftp client)', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { subsystems: ['sftp'] } } });
    await h.grant();
    const dir = await scope.tempDir();
    await writeFile(join(dir, 'hello.txt'), 'hello over sftp\n');
    const t = h.target('alice', 'alice:web-1');
    // sftp takes ssh options, but the destination as -P PORT and `[user@]host`; the route goes in User.
    const args = sshArgs(t).slice(0, -3);
    const child = spawn('sftp', ['-b', '-', ...args, '-P', String(t.port), '-o', `User=${t.login}`, '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    scope.defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.end(`get ${join(dir, 'hello.txt')} ${join(dir, 'copy.txt')}\n`);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`sftp> get ${join(dir, 'hello.txt')}`);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'copy.txt'), 'utf8')).toBe('hello over sftp\n');
    const starts = await until(async () => {
      const s = await h.events('session.start');
      return s.length > 0 && s;
    });
    expect(starts[0]?.data).toMatchObject({ kind: 'exec', command: 'subsystem:sftp' });
  });
});
