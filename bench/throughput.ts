/**
 * Bulk throughput and where the CPU goes: direct OpenSSH vs Gatehouse (a broker process), for
 * `seq 1 N`, N runs each interleaved, with the CPU seconds of the broker (all its threads), of the
 * ssh client, and of the whole machine (/proc/stat) — the numbers behind bench/RESULTS.md's
 * throughput section. `--cap BYTES` sets the exec recording cap (recordings.maxExecOutputBytes).
 *
 * Run: npm run build && npx tsx bench/throughput.ts [--n 30000000] [--runs 5] [--cap 8388608]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../src/cli/client.js';
import { BIN, writeConfig } from '../test/fixtures/child-broker.js';
import { prepareBroker } from '../test/fixtures/harness.js';
import { Scope, until } from '../test/fixtures/resources.js';
import { sshArgs } from '../test/fixtures/ssh.js';
import { startSshd } from '../test/fixtures/sshd.js';
import { fmt, median, seqBytes } from './lib/stats.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '30000000' }, runs: { type: 'string', default: '5' }, cap: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
const N = Number(values.n);

const procCpu = (pid: number): number => {
  const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const machineBusy = (): number => {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).split(/\s+/).slice(1).map(Number);
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0)) / 100;
};

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const sshd = await startSshd(scope);
    const prep = await prepareBroker(scope, { sshd, commands: { allow: ['seq *'] }, ...(values.cap !== undefined && { recordings: { maxExecOutputBytes: Number(values.cap) } }) });
    const cfg = await writeConfig(prep);
    const child = spawn(process.execPath, [...(process.env.BROKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), BIN, 'serve', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    scope.defer(() => child.kill('SIGKILL'));
    const ports = await until(() => {
      const line = log.split('\n').find((l) => l.includes('gatehouse broker listening'));
      return line ? (JSON.parse(line) as { ssh: number; grpc: number }) : null;
    }, 15_000, 'broker');
    const pub = readFileSync(join(prep.dir, 'data/ssh_host_ed25519_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const knownHosts = join(prep.dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${ports.ssh} ${pub}\n[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`);
    const alice = connect({ server: `127.0.0.1:${ports.grpc}`, token: prep.users.alice?.token });
    const bob = connect({ server: `127.0.0.1:${ports.grpc}`, token: prep.users.bob?.token });
    const g = await alice.call('requestGrant', { user: 'alice', targets: ['web-1'], incident: 'BENCH', duration: '1h', reason: 'bench', template: '', breakGlass: false });
    await bob.call('approveGrant', { id: g.id, totp: '' });
    alice.close();
    bob.close();
    const args = {
      direct: ['-F', '/dev/null', '-i', sshd.clientKey.privatePath, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, `seq 1 ${N}`],
      gatehouse: [...sshArgs({ port: ports.ssh, knownHosts, key: prep.users.alice?.key.privatePath ?? '', login: 'alice:web-1' }), `seq 1 ${N}`],
    };
    const rows: Record<'direct' | 'gatehouse', { mbps: number; broker: number; ssh: number; cores: number }[]> = { direct: [], gatehouse: [] };
    for (let r = 0; r < Number(values.runs); r++) {
      for (const mode of ['direct', 'gatehouse'] as const) {
        const b0 = procCpu(child.pid as number);
        const m0 = machineBusy();
        const t0 = Date.now();
        const quoted = args[mode].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
        const out = execFileSync('bash', ['-c', `TIMEFORMAT='%U %S'; { time ssh ${quoted} > /dev/null ; } 2>&1`]).toString().trim().split('\n').pop() as string;
        const wall = (Date.now() - t0) / 1000;
        const [u = 0, s = 0] = out.split(' ').map(Number);
        const row = { mbps: seqBytes(N) / 1e6 / wall, broker: procCpu(child.pid as number) - b0, ssh: u + s, cores: (machineBusy() - m0) / wall };
        rows[mode].push(row);
        if (values.verbose) console.log(mode, JSON.stringify(row));
      }
    }
    const med = (mode: 'direct' | 'gatehouse', k: 'mbps' | 'broker' | 'ssh' | 'cores'): number => median(rows[mode].map((x) => x[k]));
    console.log(
      `seq 1 ${N} (${fmt(seqBytes(N) / 1e6, 0)} MB), ${values.runs} runs each, cap ${values.cap ?? 'default'}: direct ${fmt(med('direct', 'mbps'), 0)} MB/s, Gatehouse ${fmt(med('gatehouse', 'mbps'), 0)} MB/s = ${fmt(med('gatehouse', 'mbps') / med('direct', 'mbps'), 2)}× direct; ` +
        `broker CPU ${fmt(med('gatehouse', 'broker'), 2)} s (${fmt((med('gatehouse', 'broker') * 1000) / (seqBytes(N) / 1e6), 2)} ms/MB), machine ${fmt(med('gatehouse', 'cores'), 2)} cores busy (direct: ${fmt(med('direct', 'cores'), 2)})`,
    );
  } finally {
    await scope.dispose();
  }
}


main().catch((err) => {
  console.error(err);
  process.exit(1);
});
