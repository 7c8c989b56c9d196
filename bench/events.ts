/**
 * Audit chain and SIEM delivery figures (issue "SIEM streaming with no event lost").
 *
 *   npx tsx bench/events.ts [--quick] [--pg]
 *
 *   1. append: events/s appended and chained on SQLite through EventLog (validate, seal, commit,
 *      feed), sequential and with 16 concurrent emitters, with a file sink draining meanwhile;
 *   2. lag: at a live rate of 1,000 events/s for 10 s, the time from an event's commit to its
 *      arrival — the file sink after fdatasync, the syslog sink at a receiver in another process —
 *      p50/p99/max;
 *   3. catch-up: a 10-minute outage at that rate (600,000 events in the store, written directly),
 *      then the sink's drain rate, as a multiple of the live rate (target ≥ 10×).
 *
 * Writes bench/results/events.json. Timings are on this machine; not assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { systemClock } from '../src/domain/clock.js';
import { seal } from '../src/events/chain.js';
import { EventLog } from '../src/events/log.js';
import type { AuditEvent, EventDraft } from '../src/events/types.js';
import { FileSink } from '../src/siem/file.js';
import { FACILITIES } from '../src/siem/rfc5424.js';
import { SyslogSink } from '../src/siem/syslog.js';
import type { Sink } from '../src/siem/types.js';
import { SinkWorker } from '../src/siem/worker.js';
import type { Store } from '../src/store/ports.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { percentile } from './lib/stats.js';

const QUICK = process.argv.includes('--quick');
const PG = process.argv.includes('--pg');
const log = pino({ level: 'silent' });
const LIVE_RATE = 1_000;
const LAG_SECONDS = QUICK ? 4 : 10;
const OUTAGE_EVENTS = QUICK ? 60_000 : 600_000;

/** A realistic event: an allowed command with its reasons, as the exec guard writes it. */
const draft = (i: number): EventDraft => ({
  type: 'command.allowed',
  ctx: { actor: 'alice', user: 'alice', target: 'web-1', grantId: 'g-0000000000000bench', incident: 'INC-4242', sessionId: 's-0000000000000bench', source: '10.1.2.3:51234' },
  data: { command: `journalctl -u nginx --since "${i % 60} min ago" | grep -i error | tail -n 50`, reasons: [{ command: 'journalctl', rule: 'journalctl *', why: 'allowed by rule' }, { command: 'grep', rule: 'grep *', why: 'allowed by rule' }], mode: 'interactive' },
});

interface Env {
  readonly dir: string;
  readonly store: Store;
  readonly events: EventLog;
  close(): Promise<void>;
}

async function env(kind: 'sqlite' | 'postgres' = 'sqlite'): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-events-'));
  let store: Store;
  if (kind === 'sqlite') store = openSqliteStore(join(dir, 'gh.db'));
  else {
    const pg = await import('pg');
    const schema = `gh_bench_${process.pid}`;
    const base = process.env.GATEHOUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
    const admin = new pg.default.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    store = (await import('../src/store/postgres/index.js')).openPostgresStore(`${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, log);
  }
  await store.migrate();
  const events = new EventLog(store, 'bench', systemClock, log);
  await events.start();
  return {
    dir,
    store,
    events,
    async close() {
      await events.settled();
      events.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function worker(e: Env, sink: Sink, onDelivered?: (batch: readonly AuditEvent[], at: number) => void): SinkWorker {
  const w = new SinkWorker(sink, e.store, e.events, log, { ...(onDelivered && { onDelivered: (_s, b, at) => onDelivered(b, at) }) });
  e.events.subscribe(() => w.wake());
  return w;
}

/** Best and median of three rounds per mode: the machine is shared, and a round can lose the CPU. */
async function append(kind: 'sqlite' | 'postgres'): Promise<Record<string, { best: number; median: number; rounds: number[] }>> {
  const out: Record<string, { best: number; median: number; rounds: number[] }> = {};
  for (const mode of ['sequential', 'concurrent16'] as const) {
    const rounds: number[] = [];
    for (let r = 0; r < 3; r++) rounds.push(await appendRound(kind, mode));
    out[mode] = { best: Math.max(...rounds), median: [...rounds].sort((a, b) => a - b)[1] as number, rounds };
  }
  return out;
}

async function appendRound(kind: 'sqlite' | 'postgres', mode: 'sequential' | 'concurrent16'): Promise<number> {
  {
    const e = await env(kind);
    const file = worker(e, new FileSink('file', join(e.dir, 'events.jsonl'), () => true));
    await file.start();
    const n = QUICK ? 5_000 : kind === 'postgres' ? 5_000 : 20_000;
    const t0 = performance.now();
    if (mode === 'sequential') {
      for (let i = 0; i < n; i++) await e.events.emit(draft(i));
    } else {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < n) await e.events.emit(draft(next++));
        }),
      );
    }
    const secs = (performance.now() - t0) / 1000;
    await file.stop();
    await e.close();
    return Math.round(n / secs);
  }
}

/** A syslog receiver in its own process: counts frames and timestamps arrivals (seq from the SD). */
const COLLECTOR = `
const net = require('node:net');
const arrivals = []; let count = 0; let first = 0; let last = 0; let track = true; let rest = Buffer.alloc(0);
const srv = net.createServer((s) => s.on('data', (b) => {
  const now = Date.now(); let buf = Buffer.concat([rest, b]); let at = 0;
  for (;;) { const sp = buf.indexOf(32, at); if (sp < 0) break; const len = Number(buf.subarray(at, sp).toString()); if (buf.length < sp + 1 + len) break;
    const msg = buf.subarray(sp + 1, sp + 1 + len).toString(); at = sp + 1 + len; count++; if (!first) first = now; last = now;
    if (track) { const m = / seq="(\\d+)"/.exec(msg); if (m) arrivals.push([Number(m[1]), now]); } }
  rest = buf.subarray(at);
}));
srv.listen(0, '127.0.0.1', () => console.log('ready ' + srv.address().port));
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'reset') { arrivals.length = 0; count = 0; first = 0; last = 0; track = true; console.log('{}'); }
  if (l === 'untrack') { track = false; console.log('{}'); }
  if (l === 'report') console.log(JSON.stringify({ count, first, last, arrivals }));
});
`;

class Collector {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    lines: AsyncIterator<string>,
  ) {
    this.lines = lines;
  }
  static async start(): Promise<Collector> {
    const child = spawn(process.execPath, ['-e', COLLECTOR], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    const ready = String((await lines.next()).value);
    return new Collector(child, Number(ready.split(' ')[1]), lines);
  }
  async ask<T>(cmd: string): Promise<T> {
    this.child.stdin?.write(`${cmd}\n`);
    return JSON.parse(String((await this.lines.next()).value)) as T;
  }
  stop(): void {
    this.child.kill();
  }
}

function syslogSink(port: number): SyslogSink {
  return new SyslogSink({
    name: 'syslog',
    host: '127.0.0.1',
    port,
    tls: null,
    format: 'json',
    rfc5424: { facility: FACILITIES.authpriv, appName: 'gatehouse', procId: String(process.pid), sdId: 'gatehouse@32473' },
    version: 'bench',
    accepts: () => true,
  });
}

/** Emits at `rate`/s for `seconds`, in 10 ms steps; returns each event's commit time by seq. */
async function live(e: Env, rate: number, seconds: number): Promise<Map<number, number>> {
  const committed = new Map<number, number>();
  const total = rate * seconds;
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate));
    const batch: Promise<AuditEvent[]>[] = [];
    for (; sent < due; sent++) batch.push(e.events.emit(draft(sent)));
    for (const evs of await Promise.all(batch)) for (const ev of evs) committed.set(ev.seq, Date.now());
    await new Promise((r) => setTimeout(r, 10));
  }
  return committed;
}

const summarize = (lags: number[]) => ({ samples: lags.length, p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99), maxMs: Math.max(...lags) });

async function lag(collector: Collector): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  {
    const e = await env();
    const arrived = new Map<number, number>();
    const w = worker(e, new FileSink('file', join(e.dir, 'events.jsonl'), () => true), (b, at) => b.forEach((ev) => arrived.set(ev.seq, at)));
    await w.start();
    const committed = await live(e, LIVE_RATE, LAG_SECONDS);
    await w.stop();
    // Lag from the event's own time (set just before its commit) to after the sink's fdatasync.
    const evs = await e.store.readEvents(0, committed.size + 10);
    out.file = summarize(evs.filter((ev) => arrived.has(ev.seq)).map((ev) => (arrived.get(ev.seq) as number) - Date.parse(ev.time)));
    await e.close();
  }
  {
    const e = await env();
    await collector.ask('reset');
    const w = worker(e, syslogSink(collector.port));
    await w.start();
    const committed = await live(e, LIVE_RATE, LAG_SECONDS);
    await w.stop();
    const report = await collector.ask<{ arrivals: [number, number][] }>('report');
    const evs = new Map((await e.store.readEvents(0, committed.size + 10)).map((ev) => [ev.seq, Date.parse(ev.time)]));
    out.syslog = summarize(report.arrivals.filter(([s]) => evs.has(s)).map(([s, at]) => at - (evs.get(s) as number)));
    await e.close();
  }
  return out;
}

/** Writes `n` events straight into the store in transactions of 1,000 (the outage's backlog). */
async function backlog(e: Env, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1_000) {
    const events = Array.from({ length: Math.min(1_000, n - i) }, (_, j) => e.events.prepare(draft(i + j) as EventDraft<'command.allowed'>));
    await e.store.commit({ events }, seal);
  }
}

async function catchUp(collector: Collector): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const kind of ['file', 'syslog'] as const) {
    const e = await env();
    const f0 = performance.now();
    await backlog(e, OUTAGE_EVENTS);
    const fillSecs = (performance.now() - f0) / 1000;
    await collector.ask('reset');
    await collector.ask('untrack');
    let delivered = 0;
    const sink = kind === 'file' ? new FileSink('file', join(e.dir, 'events.jsonl'), () => true) : syslogSink(collector.port);
    const w = worker(e, sink, (b) => (delivered += b.length));
    const t0 = performance.now();
    await w.start();
    while (w.position < OUTAGE_EVENTS) await new Promise((r) => setTimeout(r, 20));
    const secs = (performance.now() - t0) / 1000;
    if (kind === 'syslog') {
      for (let i = 0; i < 500; i++) {
        const r = await collector.ask<{ count: number }>('report');
        if (r.count >= OUTAGE_EVENTS) break;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    await w.stop();
    const rate = Math.round(OUTAGE_EVENTS / secs);
    out[kind] = { backlog: OUTAGE_EVENTS, backlogFillSeconds: Math.round(fillSecs * 10) / 10, drainSeconds: Math.round(secs * 10) / 10, eventsPerSecond: rate, timesLiveRate: Math.round((rate / LIVE_RATE) * 10) / 10, delivered };
    await e.close();
  }
  return out;
}

async function main(): Promise<void> {
  const os = await import('node:os');
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 10) / 10), quick: QUICK, liveRate: LIVE_RATE };
  console.log('append (SQLite)…');
  results.appendSqlite = await append('sqlite');
  console.log(results.appendSqlite);
  if (PG) {
    console.log('append (PostgreSQL)…');
    results.appendPostgres = await append('postgres');
    console.log(results.appendPostgres);
  }
  const collector = await Collector.start();
  try {
    console.log(`lag at ${LIVE_RATE}/s for ${LAG_SECONDS} s…`);
    results.lag = await lag(collector);
    console.log(results.lag);
    console.log(`catch-up after ${OUTAGE_EVENTS} events…`);
    results.catchUp = await catchUp(collector);
    console.log(results.catchUp);
  } finally {
    collector.stop();
  }
  results.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 10) / 10);
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  const file = new URL(`results/events${QUICK ? '-quick' : ''}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file.pathname}`);
}

await main();
