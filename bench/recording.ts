/**
 * Recording overhead on interactive sessions: SESSIONS recordings (the real CastWriter, redaction
 * and input privacy on) each fed about 1 KB/s the way an interactive session produces it — a
 * keystroke echo, a prompt, a coloured `ls` line, now and then a line with a secret — in chunks
 * every 100 ms, for SECONDS. The process CPU time is compared with the same timer loop feeding
 * nothing; the difference, over the wall time, is the recording's share of one core.
 *
 * This measures the recorder (formatting, redaction, file writes through libuv) in isolation:
 * the relay's own cost is the same with or without recording.
 *
 * Run: npx tsx bench/recording.ts [--quick]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CastWriter } from '../src/recording/writer.js';
import { fmt } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const SESSIONS = 100;
const SECONDS = quick ? 8 : 30;
const TICK_MS = 100;

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

async function run(record: boolean): Promise<{ cpuMs: number; wallMs: number; bytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-rec-bench-'));
  try {
    const writers = record
      ? await Promise.all(
          Array.from({ length: SESSIONS }, (_, i) =>
            CastWriter.open(join(dir, `s${i}.cast`), { width: 120, height: 40, timestamp: 0, session_id: `s${i}`, grant_id: 'g', incident: 'BENCH', user: 'alice', target: 'web-1', broker: 'b', kind: 'shell' }, { maxOutputBytes: 64 << 20, onError: (e) => console.error(e), redact: process.env.REDACT !== '0' }),
          ),
        )
      : [];
    const chunks = Array.from({ length: 64 }, (_, i) => chunk(i));
    let bytes = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let tick = 0;
      const iv = setInterval(() => {
        for (let s = 0; s < SESSIONS; s++) {
          const c = chunks[(tick + s) % chunks.length] as Buffer;
          bytes += c.length;
          const w = writers[s];
          if (w) {
            if (tick % 10 === s % 10) w.input(Buffer.from('l'));
            w.output(c);
          }
        }
        if (++tick >= (SECONDS * 1000) / TICK_MS) {
          clearInterval(iv);
          resolve();
        }
      }, TICK_MS);
    });
    await Promise.all(writers.map((w) => w.close()));
    const cpu = process.cpuUsage(c0);
    return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await run(true); // warm up (JIT)
  const base = await run(false);
  const rec = await run(true);
  const share = (rec.cpuMs - base.cpuMs) / rec.wallMs;
  const result = {
    when: new Date().toISOString(),
    machine: `${cpus().length} cores, Node ${process.version}`,
    sessions: SESSIONS,
    seconds: SECONDS,
    bytesPerSecondPerSession: rec.bytes / SESSIONS / (rec.wallMs / 1000),
    cpuMs: { baseline: base.cpuMs, recording: rec.cpuMs },
    recordingCpuPercentOfOneCore: share * 100,
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL(`./results/recording${quick ? '-quick' : ''}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    [
      `| recording, ${SESSIONS} interactive sessions × ${fmt(result.bytesPerSecondPerSession / 1000, 2)} KB/s for ${SECONDS} s | |`,
      '|---|---|',
      `| process CPU without / with recording (ms) | ${fmt(base.cpuMs, 0)} / ${fmt(rec.cpuMs, 0)} |`,
      `| recording's share | ${fmt(share * 100, 2)}% of one core |`,
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
