/**
 * Live view benchmark, against a broker in its own process (so its CPU can be read from /proc):
 *
 *   1. watcher overhead: broker CPU per MB for `seq` output through an exec session on the local
 *      sandbox target, with no watcher and with one live WebSocket watcher (runs interleaved);
 *   2. fan-out: one session printing 1 MB/s (1000-byte lines stamped with the time they were
 *      printed) for DURATION seconds, watched by 20 WebSocket watchers: bytes each one got, resyncs,
 *      and the lag between printing and reaching each watcher.
 *
 * Run: npm run build && npx tsx bench/web.ts [--quick] [--runs N] [--lines N]
 * Writes bench/results/web.json and prints a markdown summary (copied into bench/RESULTS.md).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connect } from '../src/cli/client.js';
import { spawnBroker, writeConfig } from '../test/fixtures/child-broker.js';
import { prepareBroker } from '../test/fixtures/harness.js';
import { Scope, sleep, until } from '../test/fixtures/resources.js';
import { sshArgs } from '../test/fixtures/ssh.js';
import { fmt, median, percentile } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const flag = (name: string): number | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : Number(process.argv[i + 1]);
};
const SEQ_N = flag('lines') ?? (quick ? 2_000_000 : 10_000_000);
const RUNS = flag('runs') ?? (quick ? 2 : 8);
const WATCHERS = 20;
/** `--only 0` or `--only 1`: run just the unwatched or the watched sessions (for profiling). */
const ONLY = flag('only') as 0 | 1 | undefined;
const DURATION = quick ? 5 : 15;

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const prep = await prepareBroker(scope, {
      extra: { listen: { ssh: '127.0.0.1:0', grpc: '127.0.0.1:0', http: '127.0.0.1:0' } },
      commands: { allow: ['seq *', 'sleep *', 'printf *'] },
    });
    const cfg = await writeConfig(prep);
    // BENCH_BROKER_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the broker only.
    const broker = await spawnBroker(scope, cfg, process.env.BENCH_BROKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_BROKER_NODE_OPTIONS } : {});
    const listening = JSON.parse(broker.log().split('\n').find((l) => l.includes('gatehouse broker listening')) ?? '{}') as { http: number };
    const base = `http://127.0.0.1:${listening.http}`;
    const pub = (await readFile(join(prep.dir, 'data/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    const knownHosts = join(prep.dir, 'known_hosts');
    await writeFile(knownHosts, `[127.0.0.1]:${broker.ports.ssh} ${pub}\n`);
    const alice = connect({ server: `127.0.0.1:${broker.ports.grpc}`, token: prep.users.alice?.token });
    const bob = connect({ server: `127.0.0.1:${broker.ports.grpc}`, token: prep.users.bob?.token });
    scope.defer(() => (alice.close(), bob.close()));
    const g = await alice.call('requestGrant', { user: 'alice', targets: ['sandbox'], incident: 'BENCH-W', duration: '2h', reason: 'bench', template: '', breakGlass: false });
    await bob.call('approveGrant', { id: g.id, totp: '' });
    const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: prep.users.bob?.token }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const ssh = (command: string): string[] => [...sshArgs({ port: broker.ports.ssh, knownHosts, key: prep.users.alice?.key.privatePath ?? '', login: 'alice:sandbox' }, ['-T']), command];
    const cpu = async (): Promise<number> => {
      const f = (await readFile(`/proc/${broker.child.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks → seconds
    };

    /** CPU seconds of the main (relay) thread and of all the others (recording, hashing, libuv pool). */
    const threads = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      for (const t of await readdir(`/proc/${broker.child.pid}/task`).catch(() => [])) {
        const stat = await readFile(`/proc/${broker.child.pid}/task/${t}/stat`, 'utf8').catch(() => '');
        const name = t === String(broker.child.pid) ? 'main' : process.env.BENCH_TIDS ? `t${t}` : 'other threads';
        const f = stat.split(') ')[1]?.split(' ') ?? [];
        out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
      }
      return out;
    };
    const byThread: { 0: Map<string, number>; 1: Map<string, number> } = { 0: new Map(), 1: new Map() };

    /** Starts `command` over ssh; once its session is live, opens `n` watchers. */
    async function session(command: string, n: number, onLine?: (w: number, text: string) => void): Promise<{ bytes: number; ms: number; watchers: Watcher[]; joinedCpu: number }> {
      const before = new Set(await liveIds());
      const t0 = Date.now();
      const child = spawn('ssh', ssh(command), { stdio: ['ignore', 'pipe', 'inherit'] });
      let bytes = 0;
      child.stdout.on('data', (b: Buffer) => (bytes += b.length));
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      const id = await until(async () => (await liveIds()).find((x) => !before.has(x)), 5_000, 'live session');
      const watchers = await Promise.all(Array.from({ length: n }, (_, i) => watch(id, i, onLine)));
      // Joined: every watcher has its first snapshot (the command is still in its `sleep 1`).
      await until(() => watchers.every((w) => w.snapshots > 0), 5_000, 'first snapshots');
      const joinedCpu = await cpu();
      await exited;
      const ms = Date.now() - t0;
      await Promise.all(watchers.map((w) => w.ended));
      return { bytes, ms, watchers, joinedCpu };
    }
    async function liveIds(): Promise<string[]> {
      const r = (await (await fetch(`${base}/api/sessions`, { headers: { Cookie: cookie } })).json()) as { live: { id: string }[] };
      return r.live.map((s) => s.id);
    }
    interface Watcher {
      bytes: number;
      snapshots: number;
      ended: Promise<string>;
    }
    function watch(id: string, index: number, onLine?: (w: number, text: string) => void): Promise<Watcher> {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/api/sessions/${id}/live`, { headers: { Cookie: cookie }, origin: base });
      scope.defer(() => ws.terminate());
      const w: Watcher = { bytes: 0, snapshots: 0, ended: new Promise((r) => ws.once('close', (_c, reason) => r(reason.toString()))) };
      ws.on('message', (data, binary) => {
        if (binary) {
          w.bytes += (data as Buffer).length;
          onLine?.(index, (data as Buffer).toString('latin1'));
        } else if ((JSON.parse(data.toString()) as { type: string }).type === 'snapshot') w.snapshots++;
      });
      return new Promise((resolve, reject) => {
        ws.once('open', () => resolve(w));
        ws.once('error', reject);
      });
    }

    // 1. Watcher overhead: broker CPU per MB, 0 vs 1 watcher.
    const perMb: { 0: number[]; 1: number[] } = { 0: [], 1: [] };
    /** The same, from the moment the watcher has joined (its first snapshot): the transfer alone. */
    const transferPerMb: { 0: number[]; 1: number[] } = { 0: [], 1: [] };
    const untilJoined: { 0: number[]; 1: number[] } = { 0: [], 1: [] };
    const watcherShare: { share: number; snapshots: number }[] = [];
    const mbps: { 0: number[]; 1: number[] } = { 0: [], 1: [] };
    for (let r = 0; r < RUNS; r++) {
      for (const n of ONLY === undefined ? ([0, 1] as const) : [ONLY]) {
        await sleep(300);
        const c0 = await cpu();
        const t0 = await threads();
        const s = await session(`sleep 1; seq 1 ${SEQ_N}`, n);
        await sleep(200);
        const used = (await cpu()) - c0;
        for (const [name, sec] of await threads()) byThread[n].set(name, (byThread[n].get(name) ?? 0) + sec - (t0.get(name) ?? 0));
        // A watcher that cannot keep up with a saturating transfer is resynced from a snapshot
        // (watchers never slow the session); how much it got directly is reported, not required.
        if (n === 1 && s.watchers[0]) watcherShare.push({ share: s.watchers[0].bytes / s.bytes, snapshots: s.watchers[0].snapshots });
        perMb[n].push((used / (s.bytes / 1e6)) * 1000);
        transferPerMb[n].push((((await cpu()) - s.joinedCpu) / (s.bytes / 1e6)) * 1000);
        untilJoined[n].push((s.joinedCpu - c0) * 1000);
        mbps[n].push(s.bytes / 1e6 / ((s.ms - 1000) / 1000));
      }
    }
    if (ONLY !== undefined) {
      console.log(`only ${ONLY} watcher(s): CPU per MB ${perMb[ONLY].map((x) => fmt(x, 2)).join(' ')}; by thread ${[...byThread[ONLY]].map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')}`);
      broker.child.kill('SIGTERM'); // a graceful exit writes --cpu-prof profiles
      await broker.exited;
      return;
    }
    const overhead = median(perMb[1]) / median(perMb[0]) - 1;
    const transferOverhead = median(transferPerMb[1]) / median(transferPerMb[0]) - 1;
    /** Runs are interleaved pairs (unwatched, then watched): the median of the pairs' ratios shrugs off the VM's slow spells. */
    const pairedOverhead = median(transferPerMb[1].map((x, i) => x / (transferPerMb[0][i] ?? x))) - 1;

    // 2. Fan-out: 20 watchers, 1 MB/s for DURATION s.
    const lags: number[] = [];
    // About 1 MB/s: 1000-byte lines, each stamped with the time it was printed (bash builtins only;
    // the sleeps' overhead is why 24 lines go out per 10 ms sleep). The actual rate is measured.
    const iterations = DURATION * 44;
    const printer = `for i in $(seq 1 ${iterations}); do for j in $(seq 1 24); do printf 'T%s %982s\\n' "$EPOCHREALTIME" x; done; sleep 0.01; done`;
    const c0 = await cpu();
    const fan = await session(`sleep 1; ${printer}`, WATCHERS, (_w, text) => {
      const now = Date.now();
      for (const m of text.matchAll(/T(\d{10})\.(\d{6}) /g)) lags.push(now - (Number(m[1]) * 1000 + Number(m[2]) / 1000));
    });
    const fanCpu = (await cpu()) - c0;
    const expected = fan.bytes;
    const got = fan.watchers.map((w) => w.bytes);

    const result = {
      when: new Date().toISOString(),
      machine: `${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
      watcherOverhead: {
        cpuMsPerMb: { none: median(perMb[0]), oneWatcher: median(perMb[1]), noneMean: mean(perMb[0]), oneWatcherMean: mean(perMb[1]) },
        increase: overhead,
        transferOnly: { cpuMsPerMb: { none: median(transferPerMb[0]), oneWatcher: median(transferPerMb[1]) }, increase: transferOverhead, pairedIncrease: pairedOverhead },
        cpuMsUntilJoined: { none: median(untilJoined[0]), oneWatcher: median(untilJoined[1]) },
        throughputMBps: { none: median(mbps[0]), oneWatcher: median(mbps[1]) },
        watcherReceived: watcherShare,
        runs: { perMb, transferPerMb, untilJoined, mbps },
        cpuSecondsByThread: { none: Object.fromEntries(byThread[0]), oneWatcher: Object.fromEntries(byThread[1]) },
      },
      fanOut: {
        watchers: WATCHERS,
        seconds: DURATION,
        bytesPrinted: expected,
        rateMBps: expected / 1e6 / ((fan.ms - 1000) / 1000),
        bytesPerWatcher: { min: Math.min(...got), max: Math.max(...got) },
        snapshotsPerWatcher: fan.watchers.map((w) => w.snapshots),
        lagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: Math.round(lags.reduce((a, b) => Math.max(a, b), 0)) },
        brokerCpuPercent: (fanCpu / ((fan.ms + 200) / 1000)) * 100,
      },
    };
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(new URL(`./results/web${quick ? '-quick' : ''}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      [
        `| live watcher overhead (exec \`seq\`, ${fmt(SEQ_N / 1e6)}M lines, ${RUNS} runs each) | no watcher | 1 watcher |`,
        '|---|---|---|',
        `| broker CPU per MB, median (ms) | ${fmt(median(perMb[0]), 2)} | ${fmt(median(perMb[1]), 2)} (${overhead >= 0 ? '+' : ''}${fmt(overhead * 100)}%) |`,
        `| broker CPU per MB, mean (ms) | ${fmt(mean(perMb[0]), 2)} | ${fmt(mean(perMb[1]), 2)} |`,
        `| broker CPU per MB, every run (ms) | ${perMb[0].map((x) => fmt(x, 1)).join(' ')} | ${perMb[1].map((x) => fmt(x, 1)).join(' ')} |`,
        `| from the join on (the transfer alone): CPU per MB, median (ms) | ${fmt(median(transferPerMb[0]), 2)} | ${fmt(median(transferPerMb[1]), 2)} (${transferOverhead >= 0 ? '+' : ''}${fmt(transferOverhead * 100)}%) |`,
        `| from the join on, median of the runs' pairwise ratios | | ${pairedOverhead >= 0 ? '+' : ''}${fmt(pairedOverhead * 100)}% |`,
        `| from the join on, every run (ms) | ${transferPerMb[0].map((x) => fmt(x, 2)).join(' ')} | ${transferPerMb[1].map((x) => fmt(x, 2)).join(' ')} |`,
        `| broker CPU from ssh start to joined, median (ms) | ${fmt(median(untilJoined[0]))} | ${fmt(median(untilJoined[1]))} |`,
        `| throughput (MB/s) | ${fmt(median(mbps[0]))} | ${fmt(median(mbps[1]))} |`,
        `| CPU by thread, all runs (s) | ${[...byThread[0]].map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')} | ${[...byThread[1]].map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')} |`,
        `| share of the output the watcher got live (snapshots) | | ${watcherShare.map((w) => `${fmt(w.share * 100, 0)}% (${w.snapshots})`).join(' ')} |`,
        '',
        `| ${WATCHERS} watchers, 1 MB/s for ${DURATION} s | |`,
        '|---|---|',
        `| bytes printed (rate) | ${expected} (${fmt(result.fanOut.rateMBps, 2)} MB/s) |`,
        `| bytes per watcher (min / max) | ${Math.min(...got)} / ${Math.max(...got)} |`,
        `| snapshots per watcher (1 = no resync) | ${[...new Set(fan.watchers.map((w) => w.snapshots))].join(', ')} |`,
        `| lag print → watcher, p50 / p99 / max (ms) | ${percentile(lags, 50)} / ${percentile(lags, 99)} / ${Math.round(lags.reduce((a, b) => Math.max(a, b), 0))} |`,
        `| broker CPU | ${fmt(result.fanOut.brokerCpuPercent)}% of one core |`,
      ].join('\n'),
    );
    broker.child.kill('SIGTERM');
    await broker.exited;
  } finally {
    await scope.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
