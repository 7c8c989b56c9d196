/**
 * loadConfigFile on YAML and JSON, unreadable and unparsable files, and the real CLI refusing a bad
 * config: exit code 2, every problem on stderr, nothing listening.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { GatehouseError } from '../../src/domain/errors.js';
import { BIN } from '../fixtures/child-broker.js';
import { freePort } from '../fixtures/ports.js';
import { testScope } from '../fixtures/scope.js';

const scope = testScope();

const YAML = `# a responder's sandbox
listen: { ssh: 127.0.0.1:0, grpc: 127.0.0.1:0 }
dataDir: state
users:
  - { name: alice, roles: [responder], keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFsaWNl alice"] }
targets:
  - { name: sandbox, local: { command: [bash, --norc], cwd: sandbox } }
templates:
  - name: diagnose
    maxDuration: 30m
    targets: ["sandbox"]
    commands: { allow: ["ls *"], deny: ["rm *"] }
sinks:
  - { http: { url: "https://siem.example/services/collector", format: splunk-hec, token: "\${HEC_TOKEN}" } }
`;

async function caught(p: Promise<unknown>): Promise<GatehouseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  return err as GatehouseError;
}

describe('loadConfigFile', () => {
  it('reads YAML, interpolates from the given environment, resolves paths against the file', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'gatehouse.yaml');
    await writeFile(path, YAML);
    const c = await loadConfigFile(path, { HEC_TOKEN: 'hec-1' });
    expect(c.source).toBe(path);
    expect(c.dataDir).toBe(join(dir, 'state'));
    expect(c.store).toMatchObject({ kind: 'sqlite', path: join(dir, 'state', 'gatehouse.db') });
    expect(c.targets[0]?.local).toEqual({ command: ['bash', '--norc'], cwd: join(dir, 'sandbox') });
    expect(c.templates[0]).toMatchObject({ name: 'diagnose', maxDurationMs: 1_800_000, commands: { allow: ['ls *'], deny: ['rm *'], review: [] } });
    expect(c.sinks[0]).toMatchObject({ http: { token: 'hec-1', format: 'splunk-hec' } });
  });

  it('reads JSON (a subset of YAML)', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'gatehouse.json');
    await writeFile(path, JSON.stringify({ listen: { ssh: '127.0.0.1:2022' }, users: [{ name: 'bob', roles: ['approver'] }] }, null, 2));
    const c = await loadConfigFile(path, {});
    expect(c.listen.ssh).toEqual({ host: '127.0.0.1', port: 2022 });
    expect(c.users.map((u) => u.name)).toEqual(['bob']);
  });

  it('lists file problems with their paths, like buildConfig', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'gatehouse.yaml');
    await writeFile(path, YAML.replace('maxDuration: 30m', 'maxDuration: 30 minutes'));
    const e = await caught(loadConfigFile(path, {}));
    expect(e.code).toBe('GH_ERR_CONFIG');
    expect(e.details?.problems).toEqual(['sinks[0].http.token: environment variable HEC_TOKEN is not set', 'templates[0].maxDuration: invalid duration "30 minutes": use forms like 90s, 30m, 1h30m, 2d']);
  });

  it('reports schema errors and cross-check errors together, skipping only the items that failed', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'gatehouse.yaml');
    await writeFile(
      path,
      `listen: { ssh: 127.0.0.1:0, grpc: nowhere }
users:
  - { name: alice, roles: [responder] }
  - { name: alice, roles: [approver] }
  - { name: gatehouse, roles: [admin] }
targets:
  - { name: sb, local: { command: [sh] }, owners: [alice, zed] }
  - { name: sb, local: { command: [sh] } }
  - { name: broken, local: { command: [] } }
templates:
  - { name: t, targets: [sb], commands: { allow: ["ls | grep x"] } }
  - { name: t, targets: [sb], maxDuration: soon }
tickets: { webhookSecret: 0123456789abcdef0123 }
`,
    );
    const e = await caught(loadConfigFile(path, {}));
    expect(e.code).toBe('GH_ERR_CONFIG');
    const problems = e.details?.problems as string[];
    // The schema's own errors first, then what only a look across the file finds.
    expect(problems.slice(0, 3)).toEqual(['listen.grpc: expected host:port, got "nowhere"', expect.stringMatching(/^targets\[2\]\.local\.command: /), 'templates[1].maxDuration: invalid duration "soon": use forms like 90s, 30m, 1h30m, 2d']);
    expect(problems.slice(3, 5)).toEqual(['users[1].name: duplicate name "alice"', 'targets[1].name: duplicate name "sb"']);
    expect(problems[5]).toMatch(/^templates\[0\]\.commands\.allow\[0\]: command rule "ls \| grep x"/);
    expect(problems.slice(6)).toEqual(['targets[0].owners[1]: unknown user "zed"', 'users[2].name: "gatehouse" is reserved for the broker itself']);
    // templates[1] failed the schema, so its duplicate name is not reported twice over; the
    // webhook check needs a valid listen section, which this file does not have.
    expect(problems.join('\n')).not.toContain('templates[1].name');
    expect(problems.join('\n')).not.toContain('webhookSecret');
  });

  it('refuses a missing file with GH_ERR_CONFIG naming it', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'nope.yaml');
    const e = await caught(loadConfigFile(path, {}));
    expect(e.code).toBe('GH_ERR_CONFIG');
    expect(e.message).toBe(`cannot read config ${path}: ENOENT`);
  });

  it('refuses invalid YAML with the first line of the parser message', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'users:\n  - { name: alice, roles: [responder\n');
    const e = await caught(loadConfigFile(path, {}));
    expect(e.code).toBe('GH_ERR_CONFIG');
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid YAML/JSON: \\S.*$`));
  });

  it('refuses a YAML alias bomb instead of expanding it', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    await writeFile(path, `${lines.join('\n')}\n`);
    const e = await caught(loadConfigFile(path, {}));
    expect(e.code).toBe('GH_ERR_CONFIG');
    expect(e.message).toContain('not valid YAML/JSON');
  });
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(args: string[], env: Record<string, string>, port: number): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // A broker that started despite the errors would hang here: note whether it holds the port, then kill it.
    const timer = setTimeout(() => {
      timedOut = true;
      void portIsFree(port).then(() => child.kill('SIGKILL'));
    }, 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('gatehouse serve --config BAD', () => {
  it('exits 2 with every problem on stderr and never listens', async () => {
    expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'dist/ is missing: run npm run build').toBe(true);
    const dir = await scope.tempDir();
    const ssh = await freePort();
    const path = join(dir, 'BAD.yaml');
    await writeFile(
      path,
      `listen: { ssh: "127.0.0.1:${ssh}", grpc: "127.0.0.1:0", http: "localhost" }
dataDir: ${JSON.stringify(join(dir, 'data'))}
users:
  - { name: Alice, roles: [responder] }
targets:
  - { name: ok, local: { command: [bash] } }
  - { name: both, local: { command: [bash] }, ssm: { instanceId: i-0abc12345678, region: us-east-1 } }
  - { name: ok, local: { command: [sh] } }
templates:
  - { name: diagnose, targets: [ok], maxDuration: forever, approverz: 2 }
sinks:
  - { http: { url: "https://siem.example/c", token: "\${GH_TEST_UNSET_TOKEN}" } }
`,
    );
    const r = await run(['serve', '--config', path], {}, ssh);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `gatehouse: invalid config (${path}):`,
      '  sinks[0].http.token: environment variable GH_TEST_UNSET_TOKEN is not set',
      '  listen.http: expected host:port, got "localhost"',
      '  users[0].name: user names are lower case letters, digits, _ . - (max 32), and never contain : or +',
      '  targets[1]: a target has exactly one of ssh, ssm, local',
      '  templates[0].maxDuration: invalid duration "forever": use forms like 90s, 30m, 1h30m, 2d',
      '  templates[0]: Unrecognized key: "approverz"',
      '  targets[2].name: duplicate name "ok"',
      '',
    ]);
    expect(await portIsFree(ssh)).toBe(true);
    expect(existsSync(join(dir, 'data')), 'no data directory is created for a config that does not load').toBe(false);
  });

  it('exits 2 for a missing config file', async () => {
    const dir = await scope.tempDir();
    const r = await run(['serve', '--config', join(dir, 'missing.yaml')], {}, 0);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`gatehouse: cannot read config ${join(dir, 'missing.yaml')}: ENOENT\n`);
  });
});
