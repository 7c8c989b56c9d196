/**
 * SSM connector benchmarks against the simulator:
 *   - keystroke echo latency through the connector and data channel, versus the same shell's echo
 *     from a PTY driven directly (the simulator's own loopback, no protocol at all);
 *   - 1 MiB of terminal output through the data channel, versus the same output from the PTY alone.
 *
 *   npx vitest bench --run bench/ssm.bench.ts
 *
 * Targets (from the issue): the connector adds < 2 ms to an echo; 1 MiB arrives in < 1 s.
 * Echo is the kernel's line-discipline echo (`cat > /dev/null` in canonical mode), so what is
 * measured is transport, not a shell's line editor.
 */
import pty from 'node-pty';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { createSsmConnector, type SsmConnector } from '../src/connectors/ssm/index.js';
import { startSsmSimulator, type SsmSimulator } from '../src/connectors/ssm/simulator/index.js';
import type { Upstream, UpstreamSink } from '../src/connectors/types.js';

const INSTANCE = 'i-0bench00000000000';
const MIB = 1 << 20;
const ONE_MIB_COMMAND = "head -c 1048576 /dev/zero | tr '\\0' a | fold -w 128; echo MARK-$((20+22))\r";
const MARK = 'MARK-42\r\n';

/**
 * Counts a byte stream and resolves a waiter when its needle shows up in bytes that arrived after
 * the waiter was set. Only a short tail is kept, so searching costs O(chunk), not O(stream).
 */
class Stream {
  private tail = '';
  private total = 0;
  private waiter: { needle: string; resolve: () => void } | null = null;

  get length(): number {
    return this.total;
  }

  push(data: Buffer): void {
    this.total += data.length;
    const w = this.waiter;
    const window = this.tail + data.toString('latin1');
    this.tail = window.slice(-32);
    if (w !== null && window.includes(w.needle)) {
      this.waiter = null;
      w.resolve();
    }
  }

  /** Resolves once `needle` appears in bytes arriving after this call. */
  next(needle: string): Promise<void> {
    this.tail = '';
    return new Promise((resolve) => {
      this.waiter = { needle, resolve };
    });
  }
}

const samples = { direct: [] as number[], connector: [] as number[], directMiB: [] as number[], connectorMiB: [] as number[] };

let sim: SsmSimulator;
let connector: SsmConnector;
let upstream: Upstream;
const viaSsm = new Stream();
let direct: pty.IPty;
const viaPty = new Stream();
let typed = 0;

beforeAll(async () => {
  sim = await startSsmSimulator({ instances: [{ instanceId: INSTANCE }] });
  connector = createSsmConnector({ endpoint: sim.endpoint, credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'x' } });
  const sink: UpstreamSink = { data: (d) => viaSsm.push(d), stderr: () => {}, drain: () => {}, exit: () => {}, closed: () => {} };
  const prompt = viaSsm.next('$ ');
  upstream = await connector.open({
    sessionId: 'bench', target: { name: 'bench', kind: 'ssm', labels: {}, owners: [], ssm: { instanceId: INSTANCE, region: 'us-east-1' } },
    pty: { term: 'xterm-256color', cols: 200, rows: 50 }, command: undefined, env: {}, signal: new AbortController().signal,
  }, sink);
  await prompt;
  direct = pty.spawn('/bin/bash', ['--norc', '--noprofile'], {
    name: 'xterm-256color', cols: 200, rows: 50, cwd: tmpdir(), encoding: null,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), TERM: 'xterm-256color', PS1: '$ ' },
  });
  direct.onData((d) => viaPty.push(d as unknown as Buffer));
  await viaPty.next('$ ');
});

afterAll(async () => {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? NaN;
  const f = (x: number): string => x.toFixed(3);
  console.log([
    '',
    'SSM connector benchmark summary',
    `  echo, PTY loopback       mean ${f(mean(samples.direct))} ms  p50 ${f(pct(samples.direct, 0.5))}  p99 ${f(pct(samples.direct, 0.99))}  (n=${samples.direct.length})`,
    `  echo, through connector  mean ${f(mean(samples.connector))} ms  p50 ${f(pct(samples.connector, 0.5))}  p99 ${f(pct(samples.connector, 0.99))}  (n=${samples.connector.length})`,
    `  connector adds           mean ${f(mean(samples.connector) - mean(samples.direct))} ms  p50 ${f(pct(samples.connector, 0.5) - pct(samples.direct, 0.5))} ms   (target < 2 ms)`,
    `  1 MiB output, PTY alone  mean ${f(mean(samples.directMiB))} ms  (n=${samples.directMiB.length})`,
    `  1 MiB output, connector  mean ${f(mean(samples.connectorMiB))} ms  max ${f(Math.max(...samples.connectorMiB))} ms   (target < 1000 ms)`,
  ].join('\n'));
  const results = {
    when: new Date().toISOString(),
    node: process.version,
    echoMs: {
      ptyLoopback: { mean: mean(samples.direct), p50: pct(samples.direct, 0.5), p99: pct(samples.direct, 0.99), n: samples.direct.length },
      connector: { mean: mean(samples.connector), p50: pct(samples.connector, 0.5), p99: pct(samples.connector, 0.99), n: samples.connector.length },
      addedMean: mean(samples.connector) - mean(samples.direct),
    },
    oneMiBMs: { ptyAlone: mean(samples.directMiB), connectorMean: mean(samples.connectorMiB), connectorMax: Math.max(...samples.connectorMiB) },
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/ssm.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  await upstream?.close('bench done');
  connector?.dispose();
  direct?.kill();
  await sim?.close();
});

async function echo(write: (b: Buffer) => void, stream: Stream, into: number[]): Promise<void> {
  if (++typed % 100 === 0) {
    const nl = stream.next('\n');
    write(Buffer.from('\r'));
    await nl;
  }
  const seen = stream.next('x');
  const t0 = performance.now();
  write(KEY);
  await seen;
  into.push(performance.now() - t0);
}

const KEY = Buffer.from('x');
let catStarted = false;

async function startCat(): Promise<void> {
  if (catStarted) return;
  catStarted = true;
  const a = viaSsm.next('cat > /dev/null\r\n');
  upstream.write(Buffer.from('cat > /dev/null\r'));
  const b = viaPty.next('cat > /dev/null\r\n');
  direct.write('cat > /dev/null\r');
  await Promise.all([a, b]);
}

async function stopCat(): Promise<void> {
  if (!catStarted) return;
  catStarted = false;
  const a = viaSsm.next('$ ');
  upstream.write(Buffer.from('\r\x04'));
  const b = viaPty.next('$ ');
  direct.write('\r\x04');
  await Promise.all([a, b]);
}

describe('keystroke echo latency', () => {
  bench('PTY loopback (simulator shell, no protocol)', async () => {
    await startCat();
    await echo((b) => direct.write(b), viaPty, samples.direct);
  }, { time: 3000, warmupIterations: 50 });

  bench('through the SSM connector and data channel', async () => {
    await startCat();
    await echo((b) => upstream.write(b), viaSsm, samples.connector);
  }, { time: 3000, warmupIterations: 50 });
});

describe('1 MiB of output', () => {
  bench('PTY alone', async () => {
    await stopCat();
    const done = viaPty.next(MARK);
    const t0 = performance.now();
    direct.write(ONE_MIB_COMMAND);
    await done;
    samples.directMiB.push(performance.now() - t0);
  }, { iterations: 5, time: 0, warmupIterations: 1 });

  bench('through the SSM connector and data channel', async () => {
    await stopCat();
    const before = viaSsm.length;
    const done = viaSsm.next(MARK);
    const t0 = performance.now();
    upstream.write(Buffer.from(ONE_MIB_COMMAND));
    await done;
    samples.connectorMiB.push(performance.now() - t0);
    if (viaSsm.length - before < MIB) throw new Error(`only ${viaSsm.length - before} bytes arrived`);
  }, { iterations: 5, time: 0, warmupIterations: 1 });
});
