/**
 * Recording overhead on interactive sessions: SESSIONS recordings (the real writer, redaction and
 * input privacy on) each fed about 1 KB/s the way an interactive session produces it — a
 * keystroke echo, a prompt, a coloured `ls` line, now and then a line with a secret — in chunks
 * every 100 ms, for SECONDS. The process CPU time (every thread) is compared with the same timer
 * loop feeding nothing; the difference, over the wall time, is the recording's share of one core.
 *
 * As in the broker (RemoteRecording: each piece handed to the recording thread, which decodes,
 * redacts, formats and writes), in PAIRS alternating pairs of runs (nothing, then recording), so
 * a slow minute of the VM lands on both sides of a pair; the figure is the median pair, and every
 * pair is printed. Then once the CastWriter alone on this thread (the writer's own cost, without
 * the handoff). The relay's own cost is the same with or without recording.
 *
 * This VM reports no steal time: CPU the host takes from a vCPU while a thread runs is charged to
 * that thread, so single runs vary by ±0.5% of a core; hence pairs and a median.
 *
 * Run: npm run build && npx tsx bench/recording.ts [--quick]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CastHeader } from '../src/recording/writer.js';
import { fmt, median } from './lib/stats.js';

// The built broker's code (npm run build), as the broker runs it: the recording thread then loads
// compiled JavaScript, not the TypeScript sources through tsx's loader.
const { RemoteRecording } = (await import('../dist/recording/remote.js' as string)) as typeof import('../src/recording/remote.js');
const { CastWriter } = (await import('../dist/recording/writer.js' as string)) as typeof import('../src/recording/writer.js');

const quick = process.argv.includes('--quick');
const SESSIONS = 100;
const SECONDS = quick ? 8 : 30;
const PAIRS = quick ? 2 : 5;
/** Each session prints every PERIOD_MS; the sessions are spread over SLOTS phases of that period. */
const PERIOD_MS = 100;
const SLOTS = 10;

const SAMPLES = [
  'l', 's', ' ', '-', 'l', '\r\n',
  '\x1b[0m\x1b[01;34mbin\x1b[0m  \x1b[01;34metc\x1b[0m  README.md  \x1b[01;32mrun.sh\x1b[0m  var\r\n',
  'Nov 25 03:10:07 web-1 nginx[1234]: connect() failed (111: Connection refused) while connecting to upstream\r\n',
  '\x1b[?2004hops@web-1:~$ ',
  'export DB_PASSWORD=correct-horse-battery\r\n',
  '  PID TTY          TIME CMD\r\n 4242 pts/0    00:00:00 bash\r\n',
];

/** About 100 bytes per tick per session: 1 KB/s. */
function chunk(i: number): Buffer {
  let s = '';
  for (let k = i; s.length < 100; k++) s += SAMPLES[k % SAMPLES.length];
  return Buffer.from(s.slice(0, 100));
}

/** CPU ticks (10 ms) of each thread, user and system, for BENCH_DIAG. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const raw = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      out[`${t}u`] = Number(f[11]);
      out[`${t}s`] = Number(f[12]);
    } catch {
      // a thread that ended
    }
  }
  return out;
}
type Mode = 'none' | 'thread' | 'inline';

async function run(mode: Mode): Promise<{ cpuMs: number; wallMs: number; bytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-rec-bench-'));
  try {
    const header = (i: number): CastHeader => ({ width: 120, height: 40, timestamp: 0, session_id: `s${i}`, grant_id: 'g', incident: 'BENCH', user: 'alice', target: 'web-1', broker: 'b', kind: 'shell' });
    const opts = { maxOutputBytes: 64 << 20, onError: (e: Error) => console.error(e), redact: process.env.REDACT !== '0' };
    const open = mode === 'thread' ? RemoteRecording.open : mode === 'inline' ? CastWriter.open : null;
    const writers: { output(b: Buffer): void; input(b: Buffer): void; close(): Promise<unknown> }[] =
      open === null ? [] : await Promise.all(Array.from({ length: SESSIONS }, (_, i) => open(join(dir, `s${i}.cast`), header(i), opts)));
    const chunks = Array.from({ length: 64 }, (_, i) => chunk(i));
    let bytes = 0;
    const th0 = threadCpu();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      // Sessions do not print in step: a tenth of them every 10 ms, each every 100 ms.
      let tick = 0;
      const iv = setInterval(() => {
        const slot = tick % SLOTS;
        const round = (tick - slot) / SLOTS;
        for (let s = slot; s < SESSIONS; s += SLOTS) {
          const c = chunks[(round + s) % chunks.length] as Buffer;
          bytes += c.length;
          const w = writers[s];
          if (w) {
            if (round % 10 === s % 10) w.input(Buffer.from('l'));
            w.output(c);
          }
        }
        if (++tick >= (SECONDS * 1000) / (PERIOD_MS / SLOTS)) {
          clearInterval(iv);
          resolve();
        }
      }, PERIOD_MS / SLOTS);
    });
    await Promise.all(writers.map((w) => w.close()));
    const cpu = process.cpuUsage(c0);
    const th1 = threadCpu();
    if (process.env.BENCH_DIAG) console.error(mode, Object.entries(th1).map(([k, v]) => `${k}=${(v - (th0[k] ?? 0)) * 10}ms`).filter((x) => !x.endsWith('=0ms')).join(' '));
    return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await run('thread'); // warm up (JIT, the thread)
  const pairs: { base: number; rec: number; share: number }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const base = await run('none');
    const rec = await run('thread');
    const share = ((rec.cpuMs - base.cpuMs) / rec.wallMs) * 100;
    pairs.push({ base: base.cpuMs, rec: rec.cpuMs, share });
    console.error(`pair ${i + 1}/${PAIRS}: ${fmt(base.cpuMs, 0)} / ${fmt(rec.cpuMs, 0)} ms CPU, recording ${fmt(share, 2)}% of one core`);
  }
  const base = median(pairs.map((p) => p.base));
  const inline = await run('inline');
  const share = median(pairs.map((p) => p.share));
  const inlineShare = ((inline.cpuMs - base) / inline.wallMs) * 100;
  const result = {
    when: new Date().toISOString(),
    machine: `${cpus().length} cores, Node ${process.version}`,
    sessions: SESSIONS,
    seconds: SECONDS,
    bytesPerSecondPerSession: inline.bytes / SESSIONS / (inline.wallMs / 1000),
    pairs: pairs.map((p) => ({ baselineCpuMs: Math.round(p.base), recordingCpuMs: Math.round(p.rec), percentOfOneCore: Math.round(p.share * 100) / 100 })),
    recordingCpuPercentOfOneCore: share,
    writerAloneCpuPercentOfOneCore: inlineShare,
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL(`./results/recording${quick ? '-quick' : ''}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    [
      `| recording, ${SESSIONS} interactive sessions × ${fmt(result.bytesPerSecondPerSession / 1000, 2)} KB/s for ${SECONDS} s | |`,
      '|---|---|',
      `| **recording's share, as in the broker (recording thread), median of ${PAIRS} pairs** | **${fmt(share, 2)}% of one core** |`,
      `| every pair | ${pairs.map((p) => `${fmt(p.share, 2)}%`).join(', ')} |`,
      `| the writer alone, on the calling thread | ${fmt(inlineShare, 2)}% |`,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
