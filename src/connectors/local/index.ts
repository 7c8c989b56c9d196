/**
 * The `local` connector: a program run on the broker host (the demo sandbox, `kubectl exec ...`,
 * `docker exec -it ...`). With a terminal it runs in a PTY (node-pty); without one, on pipes, so
 * exec output stays binary-safe and stderr stays separate. Exec appends `-c LINE` to the target's
 * command, so exec works when the command is a shell (bash, sh, zsh) — documented in the README.
 *
 * Every child gets its own process group (node-pty calls setsid; pipes use `detached`), and close()
 * signals the whole group, so nothing the session started outlives it.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import * as pty from 'node-pty';
import { GatehouseError } from '../../domain/errors.js';
import type { Connector, ExitStatus, OpenRequest, Upstream, UpstreamSink } from '../types.js';

const KILL_GRACE_MS = 1_000;

export function createLocalConnector(): Connector {
  return {
    kind: 'local',
    async open(req: OpenRequest, sink: UpstreamSink): Promise<Upstream> {
      const spec = req.target.local;
      if (spec === undefined) throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `target ${req.target.name} is not a local target`);
      if (req.signal.aborted) throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'session ended before the target started');
      // A local program has no subsystems: running the target's command instead would hand out a shell.
      if (req.subsystem !== undefined) throw new GatehouseError('GH_ERR_CHANNEL_REFUSED', `subsystem ${req.subsystem.slice(0, 32)} is passed through only to ssh targets`);
      const [file, ...args] = spec.command as [string, ...string[]];
      const argv = req.command === undefined ? args : [...args, '-c', req.command];
      const env = { ...baseEnv(), ...spec.env, ...req.env, ...(req.pty && { TERM: req.pty.term }) };
      const cwd = spec.cwd ?? process.cwd();
      try {
        return req.pty ? openPty(file, argv, cwd, env, req, sink) : openPipes(file, argv, cwd, env, sink);
      } catch (err) {
        throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `cannot start ${file}: ${(err as Error).message}`);
      }
    },
  };
}

/** The environment a local target starts from: enough to run a shell, nothing of the broker's secrets. */
function baseEnv(): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', LANG: 'C.UTF-8', HOME: process.env.HOME ?? '/tmp' };
}

function openPty(file: string, argv: string[], cwd: string, env: Record<string, string>, req: OpenRequest, sink: UpstreamSink): Upstream {
  const size = req.pty as NonNullable<OpenRequest['pty']>;
  const p = pty.spawn(file, argv, { name: size.term, cols: size.cols, rows: size.rows, cwd, env, encoding: null });
  let done = false;
  let exited: Promise<void> | null = null;
  const finished = new Promise<void>((resolve) => {
    p.onExit(({ exitCode, signal }) => {
      done = true;
      const status: ExitStatus = signal ? { code: null, signal: signalName(signal) } : { code: exitCode, signal: null };
      // node-pty delivers the last output before onExit; hand the exit on after this tick's data.
      setImmediate(() => {
        sink.exit(status);
        sink.closed();
        resolve();
      });
    });
  });
  p.onData((data: string | Buffer) => sink.data(typeof data === 'string' ? Buffer.from(data) : data));
  return {
    write(chunk) {
      if (!done) p.write(chunk);
      return true;
    },
    endInput() {
      if (!done) p.write('\x04');
    },
    resize(cols, rows) {
      if (!done) p.resize(cols, rows);
    },
    signal(name) {
      if (!done) tryKill(-p.pid, name);
    },
    // Once closing, the terminal is read to its end: node-pty reports the exit only after its
    // socket has seen EOF, and a paused socket holds that back by 200 ms (its fallback timer).
    pause: () => {
      if (!done) p.pause();
    },
    resume: () => p.resume(),
    close() {
      exited ??= terminate(() => done, (sig) => tryKill(-p.pid, sig), finished);
      done = true; // no more writes to a terminal that is going away
      p.resume();
      return exited;
    },
  };
}

function openPipes(file: string, argv: string[], cwd: string, env: Record<string, string>, sink: UpstreamSink): Upstream {
  const child: ChildProcess = spawnChild(file, argv, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let done = false;
  let exited: Promise<void> | null = null;
  const finished = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      sink.exit({ code, signal: signal ? signal.replace(/^SIG/, '') : null });
      sink.closed();
      resolve();
    });
  });
  child.once('error', (err) => {
    if (done) return;
    done = true;
    sink.closed(err);
  });
  child.stdout?.on('data', (b: Buffer) => sink.data(b));
  child.stderr?.on('data', (b: Buffer) => sink.stderr(b));
  child.stdin?.on('drain', () => sink.drain());
  child.stdin?.on('error', () => {}); // EPIPE when the program exits before reading all input
  return {
    write: (chunk) => (done || !child.stdin ? true : child.stdin.write(chunk)),
    endInput: () => void child.stdin?.end(),
    resize() {},
    signal(name) {
      if (!done && child.pid !== undefined) tryKill(-child.pid, name);
    },
    pause() {
      child.stdout?.pause();
      child.stderr?.pause();
    },
    resume() {
      child.stdout?.resume();
      child.stderr?.resume();
    },
    close() {
      exited ??= terminate(() => done, (sig) => child.pid !== undefined && tryKill(-child.pid, sig), finished);
      return exited;
    },
  };
}

/** SIGHUP the group (what a closing terminal does), then SIGKILL if it is still there. */
async function terminate(isDone: () => boolean, kill: (sig: string) => void, finished: Promise<void>): Promise<void> {
  if (isDone()) return finished;
  kill('HUP');
  const timer = setTimeout(() => kill('KILL'), KILL_GRACE_MS);
  await finished;
  clearTimeout(timer);
}

function tryKill(pid: number, name: string): boolean {
  try {
    process.kill(pid, `SIG${name}` as NodeJS.Signals);
    return true;
  } catch {
    return false;
  }
}

const SIGNALS: Record<number, string> = { 1: 'HUP', 2: 'INT', 3: 'QUIT', 6: 'ABRT', 9: 'KILL', 13: 'PIPE', 15: 'TERM' };
function signalName(n: number): string {
  return SIGNALS[n] ?? String(n);
}
