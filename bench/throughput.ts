/**
 * Focused throughput probe: one broker process (optionally under --cpu-prof), one sshd, N runs of
 * `ssh alice:web-1 'seq 1 N'` and of direct ssh, interleaved. For profiling the relay hot path.
 *
 * Run: npm run build && npx tsx bench/throughput.ts [--prof DIR] [--n 30000000] [--runs 3]
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../src/cli/client.js';
import { BIN, writeConfig } from '../test/fixtures/child-broker.js';
import { prepareBroker } from '../test/fixtures/harness.js';
import { Scope, until } from '../test/fixtures/resources.js';
import { sshArgs } from '../test/fixtures/ssh.js';
import { startSshd } from '../test/fixtures/sshd.js';
import { median, fmt } from './lib/stats.js';

const { values } = parseArgs({ options: { prof: { type: 'string' }, n: { type: 'string', default: '30000000' }, runs: { type: 'string', default: '3' }, cipher: { type: 'string' } } });
const N = Number(values.n);

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const sshd = await startSshd(scope);
    const prep = await prepareBroker(scope, { sshd, commands: { allow: ['seq *'] } });
    const cfg = await writeConfig(prep);
    const nodeArgs = values.prof ? ['--cpu-prof', `--cpu-prof-dir=${values.prof}`] : [];
    const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    scope.defer(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const ports = await until(() => {
      const line = log.split('\n').find((l) => l.includes('gatehouse broker listening'));
      return line ? (JSON.parse(line) as { ssh: number; grpc: number }) : null;
    }, 15_000, 'broker');
    const pub = (await readFile(join(prep.dir, 'data/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    const knownHosts = join(prep.dir, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${ports.ssh} ${pub}\n[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const alice = connect({ server: `127.0.0.1:${ports.grpc}`, token: prep.users.alice?.token });
    const bob = connect({ server: `127.0.0.1:${ports.grpc}`, token: prep.users.bob?.token });
    scope.defer(() => (alice.close(), bob.close()));
    const g = await alice.call('requestGrant', { user: 'alice', targets: ['web-1'], incident: 'B-1', duration: '1h', reason: 'b', template: '', breakGlass: false });
    await bob.call('approveGrant', { id: g.id, totp: '' });
    const extra = values.cipher ? ['-c', values.cipher] : [];
    const gh = [...sshArgs({ port: ports.ssh, knownHosts, key: prep.users.alice?.key.privatePath ?? '', login: 'alice:web-1' }, extra), `seq 1 ${N}`];
    const direct = ['-F', '/dev/null', ...extra, '-i', sshd.clientKey.privatePath, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, `seq 1 ${N}`];
    const res = { direct: [] as number[], gatehouse: [] as number[] };
    for (let i = 0; i < Number(values.runs); i++) {
      res.direct.push(await run(direct));
      res.gatehouse.push(await run(gh));
    }
    console.log(`direct ${fmt(median(res.direct))} MB/s  gatehouse ${fmt(median(res.gatehouse))} MB/s  ratio ${fmt(median(res.gatehouse) / median(res.direct), 2)}  runs ${JSON.stringify(res)}`);
    child.kill('SIGTERM');
    await exited;
  } finally {
    await scope.dispose();
  }
}

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    c.stdout.on('data', (b: Buffer) => (bytes += b.length));
    c.once('close', (code) => (code === 0 ? resolve(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9)) : reject(new Error(`exit ${code}`))));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
