/**
 * `gatehouse demo` as a newcomer runs it (the compiled CLI, a fresh directory, ports 0): it prints
 * the exact ssh line and the web address, the printed ssh line works with the real OpenSSH client,
 * the web address answers, and SIGTERM stops it cleanly, removing its temp sandbox.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN } from '../fixtures/child-broker.js';
import { testScope, until } from '../fixtures/scope.js';

const scope = testScope();

function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  scope.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('gatehouse demo', () => {
  it('prints an ssh line and a web address that work, and stops cleanly on SIGTERM', async () => {
    expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'dist/ is missing: run npm run build').toBe(true);
    const dir = await scope.tempDir('gh-demo-');
    const demo = spawn(process.execPath, [BIN, 'demo', '--dir', dir, '--ssh-port', '0', '--grpc-port', '0', '--http-port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    scope.defer(async () => {
      if (demo.exitCode === null && demo.signalCode === null) {
        demo.kill('SIGKILL');
        await exited;
      }
    });
    let out = '';
    let err = '';
    demo.stdout.on('data', (b: Buffer) => (out += b.toString()));
    demo.stderr.on('data', (b: Buffer) => (err += b.toString()));
    await until(() => out.includes('  sandbox:') || demo.exitCode !== null, 30_000, 'the demo to print how to connect');
    expect(demo.exitCode, `the demo exited early:\n${out}\n${err}`).toBeNull();

    const sshLine = /^ {4}(ssh -i \S+ -o UserKnownHostsFile=\S+ -p (\d+) alice:sandbox@127\.0\.0\.1)$/m.exec(out);
    const web = /^ {2}web UI: +(http:\/\/127\.0\.0\.1:(\d+)\/) /m.exec(out);
    const sandbox = /^ {2}sandbox: +(\S+) {2}\(removed when the demo stops\)$/m.exec(out);
    expect(sshLine, out).not.toBeNull();
    expect(web, out).not.toBeNull();
    expect(sandbox, out).not.toBeNull();
    // Ports 0 were bound to real ports, and those are what is printed.
    expect(Number(sshLine?.[2])).toBeGreaterThan(0);
    expect(Number(web?.[2])).toBeGreaterThan(0);
    const sandboxDir = sandbox?.[1] as string;
    expect(existsSync(`${sandboxDir}/var/log/nginx/error.log`)).toBe(true);

    // The printed line, as printed; only batch mode and no user config are added in front.
    const args = (sshLine?.[1] as string).split(' ').slice(1);
    const r = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', ...args, 'echo hi; pwd'], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`hi\n${sandboxDir}\n`);
    expect(r.code).toBe(0);
    // The template's deny rules are on: the sandbox's README stays.
    const denied = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', ...args, 'rm README'], dir);
    expect(denied.stderr).toBe('gatehouse: command denied: rm README (matches deny rule "rm *")\n');
    expect(denied.code).toBe(126);
    expect(existsSync(`${sandboxDir}/README`)).toBe(true);

    // The same sandbox over AWS SSM Session Manager, through the bundled simulator.
    const ssmLine = /^ {4}(ssh -i \S+ -o UserKnownHostsFile=\S+ -p \d+ alice:sandbox-ssm@127\.0\.0\.1)$/m.exec(out);
    expect(ssmLine, out).not.toBeNull();
    const viaSsm = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', ...(ssmLine?.[1] as string).split(' ').slice(1), 'echo hi-over-ssm; pwd'], dir);
    expect(viaSsm.stdout.replace(/\r/g, '')).toBe(`hi-over-ssm\n${sandboxDir}\n`);

    const home = await fetch(web?.[1] as string, { redirect: 'manual' });
    expect(home.status).toBe(302);
    expect(home.headers.get('location')).toBe('/login');
    const health = await fetch(new URL('/healthz', web?.[1] as string));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', broker: 'demo' });

    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(sandboxDir)).toBe(false);
    expect(existsSync(`${dir}/data/demo/id_ed25519`)).toBe(true);
  });
});
