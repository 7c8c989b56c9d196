/**
 * gatehouse demo: a broker on embedded defaults, with everything a first look needs and nothing
 * to configure — SQLite under data/, a generated host key, a `local` sandbox target (a shell in a
 * PTY, in a fresh temp dir removed when the demo stops), a responder (alice) with a generated SSH
 * key, an approver/watcher (bob), and an approved grant for alice on the sandbox. The same sandbox
 * is also reachable as `sandbox-ssm`, an AWS SSM target served by the bundled Session Manager
 * simulator (src/connectors/ssm/simulator), so the SSM path can be tried without an AWS account.
 * Prints how to connect, with the ports actually bound (`--ssh-port 0` etc. pick free ones).
 *
 * Flags: --dir DIR (where data/ and recordings/ go, default .), --ssh-port (2222), --grpc-port
 * (9090), --http-port (8080). The demo's secrets (alice's key, both API tokens) live in
 * DIR/data/demo/ and are reused across runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

import { buildConfig } from '../../config/load.js';
import { generateEd25519 } from '../../domain/keygen.js';
import { startBroker } from '../../main.js';
import { DEFAULT_SIM_INSTANCE_ID, startSsmSimulator, type SsmSimulator } from '../../connectors/ssm/simulator/index.js';
import { isLive } from '../../grants/rules.js';
import { parse } from '../args.js';
import { runUntilSignal } from './serve.js';


interface DemoSecrets {
  readonly aliceToken: string;
  readonly bobToken: string;
}

const DEMO_RULES = {
  allow: ['ls *', 'cat **', 'grep *', 'head *', 'tail *', 'wc *', 'sort *', 'uniq *', 'ps *', 'df *', 'free *', 'uptime', 'date *', 'whoami', 'id', 'hostname', 'echo *', 'pwd', 'journalctl *', 'systemctl status *', 'top -b *', 'du *', 'find *', 'less *'],
  deny: ['rm *', 'shutdown *', 'reboot *', 'dd *', 'mkfs *'],
  review: ['systemctl restart *', 'kill *'],
};

export async function demoCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { dir: { type: 'string' }, 'ssh-port': { type: 'string' }, 'grpc-port': { type: 'string' }, 'http-port': { type: 'string' } });
  const base = resolve(typeof values.dir === 'string' ? values.dir : '.');
  const dataDir = join(base, 'data');
  const demoDir = join(dataDir, 'demo');
  await mkdir(demoDir, { recursive: true, mode: 0o700 });
  const keyPath = join(demoDir, 'id_ed25519');
  const alicePub = await ensureKey(keyPath);
  const secrets = await ensureSecrets(join(demoDir, 'tokens.json'));
  // A fresh sandbox each run: what a responder does in it (denied or not) never piles up.
  const sandbox = await mkdtemp(join(tmpdir(), 'gatehouse-demo-sandbox-'));
  let ssm: SsmSimulator | null = null;
  try {
    await ensureSandbox(sandbox);
    // The simulated instance's agent runs the same shell in the same sandbox.
    ssm = await startSsmSimulator({ instances: [{ instanceId: DEFAULT_SIM_INSTANCE_ID, tags: { env: 'demo' }, cwd: sandbox, env: { PS1: 'ssm-sandbox$ ' } }] });
    return await runDemo({ base, dataDir, demoDir, sandbox, ssm, keyPath, alicePub, secrets, ports: values });
  } finally {
    await ssm?.close();
    await rm(sandbox, { recursive: true, force: true });
  }
}

interface DemoSetup {
  readonly base: string;
  readonly dataDir: string;
  readonly demoDir: string;
  readonly sandbox: string;
  readonly ssm: SsmSimulator;
  readonly keyPath: string;
  readonly alicePub: string;
  readonly secrets: DemoSecrets;
  readonly ports: Readonly<Record<string, unknown>>;
}

async function runDemo({ base, dataDir, demoDir, sandbox, ssm, keyPath, alicePub, secrets, ports: values }: DemoSetup): Promise<number> {
  const sshPort = Number(values['ssh-port'] ?? 2222);
  const grpcPort = Number(values['grpc-port'] ?? 9090);
  const httpPort = Number(values['http-port'] ?? 8080);
  const config = buildConfig(
    {
      brokerId: 'demo',
      listen: { ssh: `127.0.0.1:${sshPort}`, grpc: `127.0.0.1:${grpcPort}`, http: `127.0.0.1:${httpPort}` },
      dataDir: 'data',
      store: { sqlite: 'data/gatehouse.db' },
      recordings: { dir: 'recordings', mode: 'strict' },
      users: [
        { name: 'alice', roles: ['responder'], keys: [alicePub], apiTokenSha256: sha256(secrets.aliceToken) },
        { name: 'bob', roles: ['approver', 'watcher', 'auditor'], apiTokenSha256: sha256(secrets.bobToken) },
      ],
      targets: [
        { name: 'sandbox', local: { command: ['bash', '--norc', '--noprofile'], cwd: sandbox, env: { PS1: 'sandbox$ ' } }, labels: { env: 'demo' } },
        { name: 'sandbox-ssm', ssm: { instanceId: DEFAULT_SIM_INSTANCE_ID, region: 'us-east-1', endpoint: ssm.endpoint }, labels: { env: 'demo' } },
      ],
      // The simulator checks the SigV4 shape, not the secret: these open nothing on AWS.
      ssm: { credentials: { accessKeyId: 'AKIDGATEHOUSEDEMO', secretAccessKey: 'demo-not-a-secret' } },
      templates: [{ name: 'demo-diagnose', approvals: 1, maxDuration: '8h', targets: ['env=demo'], commands: DEMO_RULES }],
      sinks: [{ file: { path: 'data/events.jsonl' } }],
    },
    { baseDir: base, source: 'gatehouse demo (embedded)' },
  );
  const broker = await startBroker(config);
  const now = Date.now();
  const grants = await broker.grants.list('bob', { user: 'alice' });
  let grant = grants.find((g) => g.targets.includes('sandbox') && g.targets.includes('sandbox-ssm') && isLive(g, now));
  if (grant === undefined) {
    const requested = await broker.grants.request('alice', { user: 'alice', targets: ['sandbox', 'sandbox-ssm'], incident: 'DEMO-1', durationMs: 8 * 3_600_000, reason: 'Gatehouse demo: look around the sandbox' });
    grant = await broker.grants.approve('bob', requested.id);
  }
  const knownHosts = join(demoDir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${broker.ports.ssh} ${broker.hostKey}\n`);
  const rel = (p: string): string => relative(process.cwd(), p) || '.';
  process.stdout.write(
    [
      '',
      'Gatehouse demo is running (Ctrl-C to stop).',
      '',
      `  grant:    ${grant.id} for alice on sandbox and sandbox-ssm, incident DEMO-1, expires ${new Date(grant.expiresAt ?? 0).toISOString()}`,
      '',
      '  connect as the responder:',
      `    ssh -i ${rel(keyPath)} -o UserKnownHostsFile=${rel(knownHosts)} -p ${broker.ports.ssh} alice:sandbox@127.0.0.1`,
      '  or to the same sandbox over AWS SSM Session Manager (the bundled simulator):',
      `    ssh -i ${rel(keyPath)} -o UserKnownHostsFile=${rel(knownHosts)} -p ${broker.ports.ssh} alice:sandbox-ssm@127.0.0.1`,
      '',
      '  act as security (bob: approver, watcher, auditor) from another terminal:',
      `    export GATEHOUSE_SERVER=127.0.0.1:${broker.ports.grpc} GATEHOUSE_TOKEN=${secrets.bobToken}`,
      '    npx gatehouse sessions list --live',
      '    npx gatehouse grant list',
      '    npx gatehouse sessions watch SESSION_ID',
      '    npx gatehouse web login          # a one-time sign-in link for the web UI',
      '',
      `  web UI:     http://127.0.0.1:${broker.ports.http ?? httpPort}/  (or sign in there with bob's token)`,
      '',
      `  events:     ${rel(join(dataDir, 'events.jsonl'))}`,
      `  recordings: ${rel(config.recordings.dir)}/`,
      `  sandbox:    ${sandbox}  (removed when the demo stops)`,
      '',
    ].join('\n'),
  );
  return runUntilSignal(broker);
}

async function ensureKey(path: string): Promise<string> {
  if (!existsSync(path)) {
    const pair = generateEd25519('alice@gatehouse-demo');
    await writeFile(path, pair.private, { mode: 0o600 });
    await writeFile(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
  }
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}

async function ensureSecrets(path: string): Promise<DemoSecrets> {
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as DemoSecrets;
  const secrets: DemoSecrets = { aliceToken: `ght_${randomBytes(24).toString('hex')}`, bobToken: `ght_${randomBytes(24).toString('hex')}` };
  await writeFile(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

async function ensureSandbox(dir: string): Promise<void> {
  await mkdir(join(dir, 'var/log/nginx'), { recursive: true });
  const log = join(dir, 'var/log/nginx/error.log');
  if (!existsSync(log)) {
    const lines = Array.from({ length: 40 }, (_, i) => `2026/11/25 03:${String(10 + i).padStart(2, '0')}:07 [error] 1234#0: *${900 + i} connect() failed (111: Connection refused) while connecting to upstream`);
    await writeFile(log, `${lines.join('\n')}\n`);
    await writeFile(join(dir, 'README'), 'This is the Gatehouse demo sandbox. Try: ls, cat var/log/nginx/error.log | tail, grep refused -r var, rm README (denied).\n');
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
