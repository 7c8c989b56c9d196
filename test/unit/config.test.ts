/**
 * buildConfig: documented defaults, every error at once with its path, ${ENV} interpolation,
 * unknown keys, cross checks, relative paths. (Files and the CLI: config-file.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { buildConfig, type Config, type Env } from '../../src/config/load.js';
import { GatehouseError } from '../../src/domain/errors.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVeDBdVIZEd0Kqm+XV9c2FmZWtleWZvcnRlc3Rz alice@laptop';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhvc3RrZXlob3N0a2V5aG9zdGtleWhvc3RrZXk=';
const BASE = '/etc/gatehouse';

function build(raw: unknown, env: Env = {}): Config {
  return buildConfig(raw, { baseDir: BASE, env, source: '/etc/gatehouse/gatehouse.yaml' });
}

/** The problems of a config that must not build, in the order reported. */
function problems(raw: unknown, env: Env = {}): string[] {
  try {
    build(raw, env);
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    const e = err as GatehouseError;
    expect(e.code).toBe('GH_ERR_CONFIG');
    const list = e.details?.problems as string[];
    expect(e.message).toBe(`invalid config (/etc/gatehouse/gatehouse.yaml):\n  ${list.join('\n  ')}`);
    return list;
  }
  throw new Error('config built, but it should not have');
}

describe('buildConfig defaults', () => {
  it('builds an empty config with the documented defaults, frozen', () => {
    const c = build({ brokerId: 'b1' });
    expect(c).toEqual({
      brokerId: 'b1',
      listen: { ssh: { host: '127.0.0.1', port: 2222 }, http: undefined, grpc: { host: '127.0.0.1', port: 9090 } },
      dataDir: '/etc/gatehouse/data',
      store: { kind: 'sqlite', path: '/etc/gatehouse/data/gatehouse.db', failClosedAfterMs: 10_000 },
      recordings: { dir: '/etc/gatehouse/recordings', mode: 'strict', input: true, maxOutputBytes: 64 * 1024 * 1024, maxExecOutputBytes: 4 * 1024 * 1024, redact: true, gzip: false },
      web: { publicUrl: undefined, sessionTtlMs: 43_200_000, loginLinkTtlMs: 120_000 },
      ssh: { loginGraceTimeMs: 30_000, hostKeys: [], ciphers: undefined },
      grpc: { tls: undefined },
      tickets: { provider: null, pollIntervalMs: 60_000, webhookSecret: undefined },
      notify: [],
      audit: { checkpointEvery: 1000, checkpointIntervalMs: 300_000, signingKeyFile: '/etc/gatehouse/data/audit_ed25519.pem', trustedKeys: [] },
      ssm: { endpoint: undefined, credentials: undefined },
      users: [],
      targets: [],
      templates: [],
      sinks: [],
      source: '/etc/gatehouse/gatehouse.yaml',
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.listen.ssh)).toBe(true);
    expect(Object.isFrozen(c.users)).toBe(true);
  });

  it('defaults brokerId to a sanitised host name', () => {
    expect(build({}).brokerId).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
  });

  it('fills user, target and template defaults', () => {
    const c = build({
      users: [{ name: 'alice', roles: ['responder'] }],
      targets: [{ name: 'sandbox', local: { command: ['bash', '--norc'] } }],
      templates: [{ name: 'diagnose', targets: ['sandbox'] }],
    });
    expect(c.users[0]).toEqual({ name: 'alice', roles: ['responder'], keys: [], groups: [] });
    expect(c.targets[0]).toEqual({ name: 'sandbox', kind: 'local', labels: {}, owners: [], local: { command: ['bash', '--norc'] } });
    expect(c.templates[0]).toEqual({
      name: 'diagnose',
      approvals: 1,
      maxDurationMs: 3_600_000,
      targets: ['sandbox'],
      commands: { allow: [], deny: [], review: [] },
      recording: 'strict',
      allowForwarding: { subsystems: [], local: [] },
      shellIntegration: false,
      inspect: true,
      reviewTimeoutMs: 300_000,
      approvers: [{ count: 1, role: 'approver' }],
      mfa: { approve: false, session: false },
      sourceNetworks: [],
      breakGlass: { allowed: false, maxDurationMs: 900_000, users: null, targets: null },
      idleTimeoutMs: null,
      maxSessions: null,
      requestTtlMs: 86_400_000,
      anomaly: {
        deniedCommands: { count: 5, withinMs: 60_000, action: 'alert' },
        dangerousCommands: { action: 'alert' },
        outputVolume: { bytes: 200 * 1024 * 1024, withinMs: 60_000, action: 'alert' },
        newSource: { action: 'alert' },
        outsideNetworks: { action: 'alert' },
      },
    });
  });

  it('maps the documented example: kinds, durations, recording mode, postgres', () => {
    const c = build({
      listen: { ssh: '0.0.0.0:22', http: '[::1]:8080', grpc: '127.0.0.1:0' },
      store: { postgres: 'postgres://gh@db/gatehouse', failClosedAfter: '30s' },
      recordings: { mode: 'best-effort', maxOutputBytes: 2048 },
      ssh: { loginGraceTime: '1m' },
      users: [{ name: 'alice', roles: ['responder'], keys: [`${KEY}  `], apiTokenSha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', totp: 'JBSWY3DPEHPK3PXP' }],
      targets: [
        { name: 'web-1', ssh: { host: '10.0.0.5', user: 'ops', hostKey: HOST_KEY, privateKeyFile: 'keys/ops' }, labels: { env: 'prod' } },
        { name: 'i-0abc', ssm: { instanceId: 'i-0abc12345678', region: 'us-east-1' } },
      ],
      templates: [{ name: 'diagnose', approvals: 2, maxDuration: '1h30m', targets: ['web-*', 'env=prod'], recording: 'strict' }, { name: 'short', maxDuration: 90, targets: ['x'] }],
    });
    expect(c.listen).toEqual({ ssh: { host: '0.0.0.0', port: 22 }, http: { host: '::1', port: 8080 }, grpc: { host: '127.0.0.1', port: 0 } });
    expect(c.store).toEqual({ kind: 'postgres', url: 'postgres://gh@db/gatehouse', failClosedAfterMs: 30_000 });
    expect(c.recordings).toEqual({ dir: '/etc/gatehouse/recordings', mode: 'best-effort', input: true, maxOutputBytes: 2048, maxExecOutputBytes: 4 * 1024 * 1024, redact: true, gzip: false });
    expect(c.ssh.loginGraceTimeMs).toBe(60_000);
    expect(c.users[0]?.keys).toEqual([KEY]);
    expect(c.users[0]?.totp).toBe('JBSWY3DPEHPK3PXP');
    expect(c.targets.map((t) => t.kind)).toEqual(['ssh', 'ssm']);
    expect(c.targets[0]?.ssh).toEqual({ host: '10.0.0.5', port: 22, user: 'ops', hostKey: HOST_KEY, privateKeyFile: '/etc/gatehouse/keys/ops' });
    expect(c.targets[1]?.ssm).toEqual({ instanceId: 'i-0abc12345678', region: 'us-east-1' });
    expect(c.templates.map((t) => [t.maxDurationMs, t.recording])).toEqual([
      [5_400_000, 'strict'],
      [90_000, 'best-effort'],
    ]);
  });

  it('resolves relative paths against the config directory and keeps absolute ones', () => {
    const c = build({
      dataDir: 'state',
      store: { sqlite: '../db/gh.db' },
      recordings: { dir: '/var/rec' },
      ssh: { hostKeys: ['keys/host', '/abs/host'] },
      grpc: { tls: { cert: 'tls/cert.pem', key: 'tls/key.pem', ca: '/pki/ca.pem' } },
      targets: [{ name: 'sb', local: { command: ['bash'], cwd: 'sandbox' } }],
      sinks: [{ file: { path: 'data/events.jsonl' } }, { syslog: { host: '127.0.0.1', port: 6514 } }],
    });
    expect(c.dataDir).toBe('/etc/gatehouse/state');
    expect(c.store).toEqual({ kind: 'sqlite', path: '/etc/db/gh.db', failClosedAfterMs: 10_000 });
    expect(c.recordings.dir).toBe('/var/rec');
    expect(c.ssh.hostKeys).toEqual(['/etc/gatehouse/keys/host', '/abs/host']);
    expect(c.grpc.tls).toEqual({ cert: '/etc/gatehouse/tls/cert.pem', key: '/etc/gatehouse/tls/key.pem', ca: '/pki/ca.pem', requireClientCert: false });
    expect(c.targets[0]?.local).toEqual({ command: ['bash'], cwd: '/etc/gatehouse/sandbox' });
    expect(c.sinks[0]).toEqual({ file: { path: '/etc/gatehouse/data/events.jsonl' } });
    expect(c.sinks[1]).toEqual({ syslog: { host: '127.0.0.1', port: 6514, tls: false, format: 'json', appName: 'gatehouse' } });
  });

  it('puts the default SQLite file under a custom dataDir', () => {
    expect(build({ dataDir: '/srv/gh' }).store).toEqual({ kind: 'sqlite', path: '/srv/gh/gatehouse.db', failClosedAfterMs: 10_000 });
  });
});

describe('buildConfig errors', () => {
  it('reports every mistake at once, each with its path, in one GH_ERR_CONFIG', () => {
    expect(
      problems({
        listen: { ssh: 'localhost' },
        users: [{ name: 'Alice', roles: ['responder'] }],
        targets: [
          { name: 'ok', local: { command: ['bash'] } },
          { name: 'both', local: { command: ['bash'] }, ssm: { instanceId: 'i-0abc12345678', region: 'us-east-1' } },
        ],
        templates: [{ name: 'diagnose', targets: ['ok'], maxDuration: 'forever' }],
      }),
    ).toEqual([
      'listen.ssh: expected host:port, got "localhost"',
      'users[0].name: user names are lower case letters, digits, _ . - (max 32), and never contain : or +',
      'targets[1]: a target has exactly one of ssh, ssm, local',
      'templates[0].maxDuration: invalid duration "forever": use forms like 90s, 30m, 1h30m, 2d',
    ]);
  });

  it.each([
    [{ listen: { ssh: '127.0.0.1:70000' } }, 'listen.ssh: expected host:port, got "127.0.0.1:70000"'],
    [{ listen: { grpc: ':9090' } }, 'listen.grpc: expected host:port, got ":9090"'],
    [{ targets: [{ name: 'none' }] }, 'targets[0]: a target has exactly one of ssh, ssm, local'],
    [{ targets: [{ name: '-bad', local: { command: ['sh'] } }] }, 'targets[0].name: target names are letters, digits, _ . - (max 64)'],
    [{ users: [{ name: 'a:b', roles: ['responder'] }] }, 'users[0].name: user names are lower case letters, digits, _ . - (max 32), and never contain : or +'],
    [{ users: [{ name: 'a', roles: ['responder'], keys: ['not a key'] }] }, 'users[0].keys[0]: expected an OpenSSH public key line such as "ssh-ed25519 AAAA... comment"'],
    [{ users: [{ name: 'a', roles: ['responder'], apiTokenSha256: 'ABC' }] }, 'users[0].apiTokenSha256: expected 64 lower-case hex digits'],
    [{ users: [{ name: 'a', roles: ['responder'], totp: 'short' }] }, 'users[0].totp: expected a base32 secret of at least 16 characters'],
    [{ store: { postgres: 'mysql://x' } }, 'store.postgres: expected a postgres:// URL'],
    [{ targets: [{ name: 'i', ssm: { instanceId: 'x-1', region: 'us-east-1' } }] }, 'targets[0].ssm.instanceId: expected an instance id such as i-0abc12345678'],
    [{ targets: [{ name: 'i', ssm: { instanceId: 'i-0abc12345678', region: 'mars' } }] }, 'targets[0].ssm.region: expected an AWS region such as us-east-1'],
  ])('%j: %s', (raw, problem) => {
    expect(problems(raw)).toEqual([problem]);
  });

  it('rejects unknown keys at every level', () => {
    expect(
      problems({
        listn: {},
        listen: { ssh: '127.0.0.1:2222', shh: '1' },
        users: [{ name: 'alice', roles: ['responder'], key: [] }],
        templates: [{ name: 't', targets: ['x'], commands: { allow: [], dney: [] } }],
      }),
    ).toEqual([
      'listen: Unrecognized key: "shh"',
      'users[0]: Unrecognized key: "key"',
      'templates[0].commands: Unrecognized key: "dney"',
      '(root): Unrecognized key: "listn"',
    ]);
  });

  it('reports duplicate names and unknown owners', () => {
    expect(
      problems({
        users: [{ name: 'alice', roles: ['responder'] }, { name: 'alice', roles: ['approver'] }],
        targets: [
          { name: 'sb', local: { command: ['sh'] }, owners: ['alice', 'zed'] },
          { name: 'sb', local: { command: ['sh'] } },
        ],
        templates: [{ name: 't', targets: ['sb'] }, { name: 't', targets: ['sb'] }],
      }),
    ).toEqual(['users[1].name: duplicate name "alice"', 'targets[1].name: duplicate name "sb"', 'templates[1].name: duplicate name "t"', 'targets[0].owners[1]: unknown user "zed"']);
  });
  it('reports command rules that cannot be compiled, with their path', () => {
    const list = problems({ templates: [{ name: 't', targets: ['x'], commands: { allow: ['ls *', 'ls | grep x'], deny: ['rm *'], review: ['./tool'] } }] });
    expect(list).toHaveLength(2);
    expect(list[0]).toMatch(/^templates\[0\]\.commands\.allow\[1\]: command rule "ls \| grep x"/);
    expect(list[1]).toMatch(/^templates\[0\]\.commands\.review\[0\]: command rule "\.\/tool".*absolute/);
  });
});

describe('${ENV} interpolation', () => {
  const raw = { sinks: [{ http: { url: 'https://siem.example/collector', format: 'splunk-hec', token: 'Splunk ${HEC_TOKEN}' } }], store: { postgres: 'postgres://gh:${PG_PASS}@db/gh' } };

  it('replaces set variables anywhere in a string', () => {
    const c = build(raw, { HEC_TOKEN: 'abc-123', PG_PASS: 's3cret' });
    expect(c.sinks[0]).toMatchObject({ http: { token: 'Splunk abc-123' } });
    expect(c.store).toEqual({ kind: 'postgres', url: 'postgres://gh:s3cret@db/gh', failClosedAfterMs: 10_000 });
  });

  it('treats unset and empty variables as errors, naming the path and the variable', () => {
    expect(problems(raw, { PG_PASS: 's3cret' })).toEqual(['sinks[0].http.token: environment variable HEC_TOKEN is not set']);
    expect(problems(raw, { HEC_TOKEN: '', PG_PASS: 'x' })).toEqual(['sinks[0].http.token: environment variable HEC_TOKEN is not set']);
  });

  it('never reads the environment when one is given, and leaves $VAR and ${1X} alone', () => {
    const c = build({ users: [{ name: 'alice', roles: ['responder'], groups: ['$HOME', '${1X}', '$${'] }] }, {});
    expect(c.users[0]?.groups).toEqual(['$HOME', '${1X}', '$${']);
    expect(problems({ dataDir: '${PATH}' }, {})).toEqual(['dataDir: environment variable PATH is not set']);
  });
});
