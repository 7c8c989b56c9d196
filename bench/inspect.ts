/**
 * What interactive inspection adds to a keystroke: the real OpenSSH client in a PTY, through a
 * Gatehouse broker (its own process) into a real sshd's bash, typing one character at a time and
 * timing until its echo is back, in an inspected and an uninspected session side by side
 * (alternating, so drift hits both). Also the Enter → output round trip of a short command, where
 * inspection holds the Enter until the echo settled (QUIET_MS) and the line is judged.
 *
 * The broker runs from the TypeScript sources (this file re-launched with `--serve`), so no build
 * is needed: npx tsx bench/inspect.ts [--quick]
 * Writes bench/results/inspect.json and prints a markdown summary.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as pty from 'node-pty';
import { connect } from '../src/cli/client.js';
import { writeConfig } from '../test/fixtures/child-broker.js';
import { prepareBroker, TEST_RULES } from '../test/fixtures/harness.js';
import { Scope, sleep } from '../test/fixtures/resources.js';
import { sshArgs } from '../test/fixtures/ssh.js';
import { startSshd } from '../test/fixtures/sshd.js';
import { fmt, median, percentile } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const KEYS = quick ? 200 : 1_000;
const LINES = quick ? 30 : 100;

/** A terminal whose output we can await byte by byte. */
class Term {
  private out = '';
  private waiter: { pattern: string; from: number; resolve: () => void } | null = null;
  readonly p: pty.IPty;

  constructor(args: string[]) {
    this.p = pty.spawn('ssh', args, { name: 'xterm-256color', cols: 200, rows: 50, env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string> });
    this.p.onData((d) => {
      this.out += d;
      const w = this.waiter;
      if (w !== null && this.out.indexOf(w.pattern, w.from) >= 0) {
        this.waiter = null;
        w.resolve();
      }
    });
  }

  /** Writes `data` and resolves when `pattern` appears after what was there before. */
  roundTrip(data: string, pattern: string): Promise<number> {
    const from = this.out.length;
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(pattern)}; got ${JSON.stringify(this.out.slice(-200))}`)), 10_000);
      this.waiter = { pattern, from, resolve: () => (clearTimeout(timer), resolve(performance.now() - t0)) };
      this.p.write(data);
    });
  }

  /** Resolves once the output ends with `suffix` (a prompt). */
  async endsWith(suffix: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.out.endsWith(suffix)) {
      if (Date.now() > deadline) throw new Error(`output does not end with ${JSON.stringify(suffix)}`);
      await sleep(1);
    }
  }

  async settle(): Promise<void> {
    let len = -1;
    while (len !== this.out.length) {
      len = this.out.length;
      await sleep(100);
    }
  }
}

/** The broker in its own process, from source. Resolves its ports. */
async function serve(scope: Scope, config: string): Promise<{ ssh: number; grpc: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } });
  scope.defer(() => child.kill('SIGKILL'));
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (b: Buffer) => {
      log += b.toString();
      const line = log.split('\n').find((l) => l.includes('gatehouse broker listening'));
      if (line === undefined) return;
      clearTimeout(timer);
      const j = JSON.parse(line) as { ssh: number; grpc: number };
      resolve({ ssh: j.ssh, grpc: j.grpc });
    });
    child.once('exit', (code) => reject(new Error(`broker exited ${String(code)}:\n${log}`)));
  });
}

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const sshd = await startSshd(scope);
    const plain = { name: 'plain', approvals: 1, maxDuration: '2h', targets: ['env=prod'], commands: TEST_RULES, inspect: false };
    const prep = await prepareBroker(scope, { sshd, templates: [plain] });
    const broker = { ports: await serve(scope, await writeConfig(prep)) };
    const knownHosts = join(prep.dir, 'known_hosts');
    const pub = (await readFile(join(prep.dir, 'data/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    await writeFile(knownHosts, `[127.0.0.1]:${broker.ports.ssh} ${pub}\n`);
    const alice = connect({ server: `127.0.0.1:${broker.ports.grpc}`, token: prep.users.alice?.token });
    const bob = connect({ server: `127.0.0.1:${broker.ports.grpc}`, token: prep.users.bob?.token });
    scope.defer(() => (alice.close(), bob.close()));
    const grant = async (template: string): Promise<string> => {
      const g = await alice.call('requestGrant', { user: 'alice', targets: ['web-1'], incident: 'BENCH-2', duration: '1h', reason: 'bench', template, breakGlass: false });
      await bob.call('approveGrant', { id: g.id, totp: '' });
      return String(g.id);
    };
    const open = async (template: string): Promise<Term> => {
      const id = await grant(template);
      const t = new Term(sshArgs({ port: broker.ports.ssh, knownHosts, key: prep.users.alice?.key.privatePath ?? '', login: `alice:web-1:${id}` }, ['-tt']));
      scope.defer(() => t.p.kill());
      await t.endsWith('# ');
      await t.settle();
      return t;
    };
    const sessions = { inspected: await open('diagnose'), plain: await open('plain') };

    const keys: Record<'inspected' | 'plain', number[]> = { inspected: [], plain: [] };
    for (let i = 0; i < KEYS; i++) {
      for (const mode of ['inspected', 'plain'] as const) {
        const t = sessions[mode];
        // Printable letters cycle so each echo is recognisable; Ctrl-U every 60 keys keeps the line short.
        const ch = String.fromCharCode(97 + (i % 26));
        keys[mode].push(await t.roundTrip(ch, ch));
        if (i % 60 === 59) await t.roundTrip('\x15', '\x1b[K').catch(() => undefined);
      }
    }
    for (const t of Object.values(sessions)) {
      t.p.write('\x15');
      await t.settle();
    }

    // Enter right after the echo (a paste, a fast typist: inspection waits QUIET_MS for output to
    // settle), and at a human pace (Enter 50 ms after the last echo: nothing left to wait for).
    const lines: Record<'inspected' | 'plain', number[]> = { inspected: [], plain: [] };
    const paced: Record<'inspected' | 'plain', number[]> = { inspected: [], plain: [] };
    for (let i = 0; i < LINES; i++) {
      for (const mode of ['inspected', 'plain'] as const) {
        const t = sessions[mode];
        await t.roundTrip(`echo r${i}-$((${i}+1))`, `$((${i}+1))`);
        lines[mode].push(await t.roundTrip('\r', `r${i}-${i + 1}\r\n`));
        await t.endsWith('# ');
        await t.roundTrip(`echo p${i}-$((${i}+2))`, `$((${i}+2))`);
        await sleep(50);
        paced[mode].push(await t.roundTrip('\r', `p${i}-${i + 2}\r\n`));
        await t.endsWith('# ');
      }
    }

    const stats = (xs: Record<'inspected' | 'plain', number[]>) => ({
      inspectedP50: median(xs.inspected),
      inspectedP99: percentile(xs.inspected, 99),
      plainP50: median(xs.plain),
      plainP99: percentile(xs.plain, 99),
      addedP50: Math.round((median(xs.inspected) - median(xs.plain)) * 100) / 100,
      addedP99: Math.round((percentile(xs.inspected, 99) - percentile(xs.plain, 99)) * 100) / 100,
    });
    const result = { date: new Date().toISOString(), keys: KEYS, lines: LINES, keystroke: stats(keys), enterRightAfterEcho: stats(lines), enterAtHumanPace: stats(paced) };
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/inspect.json', `${JSON.stringify(result, null, 2)}\n`);
    const k = result.keystroke;
    const e = result.enterRightAfterEcho;
    const h = result.enterAtHumanPace;
    console.log(`| ${KEYS} keystrokes, ${LINES} lines | p50 ms | p99 ms |`);
    console.log('|---|---|---|');
    console.log(`| keystroke echo, uninspected | ${fmt(k.plainP50, 2)} | ${fmt(k.plainP99, 2)} |`);
    console.log(`| keystroke echo, inspected | ${fmt(k.inspectedP50, 2)} | ${fmt(k.inspectedP99, 2)} |`);
    console.log(`| keystroke: added by inspection | ${fmt(k.addedP50, 2)} | ${fmt(k.addedP99, 2)} |`);
    console.log(`| Enter right after the echo → output, uninspected | ${fmt(e.plainP50, 2)} | ${fmt(e.plainP99, 2)} |`);
    console.log(`| Enter right after the echo → output, inspected | ${fmt(e.inspectedP50, 2)} | ${fmt(e.inspectedP99, 2)} |`);
    console.log(`| Enter right after the echo: added by inspection | ${fmt(e.addedP50, 2)} | ${fmt(e.addedP99, 2)} |`);
    console.log(`| Enter 50 ms after the echo → output, uninspected | ${fmt(h.plainP50, 2)} | ${fmt(h.plainP99, 2)} |`);
    console.log(`| Enter 50 ms after the echo → output, inspected | ${fmt(h.inspectedP50, 2)} | ${fmt(h.inspectedP99, 2)} |`);
    console.log(`| Enter 50 ms after the echo: added by inspection | ${fmt(h.addedP50, 2)} | ${fmt(h.addedP99, 2)} |`);
  } finally {
    await scope.dispose();
  }
}

if (process.argv[2] === '--serve') {
  const { main: cli } = await import('../src/cli/main.js');
  process.exitCode = await cli(['serve', '--config', process.argv[3] ?? '']);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
