/**
 * What the simulated agent runs: a shell or command in a PTY (Standard_Stream,
 * InteractiveCommands), or a command on plain pipes with separate stderr and an exit code
 * (NonInteractiveCommands). Both behind one small interface.
 */
import { spawn as spawnChild } from 'node:child_process';
import pty from 'node-pty';

export interface ProcessEvents {
  stdout(data: Buffer): void;
  stderr(data: Buffer): void;
  exit(code: number | null, signal: string | null): void;
}

export interface AgentProcess {
  readonly pid: number;
  write(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Stop reading output (the data channel's send window is full); the program blocks on write. */
  pause(): void;
  resume(): void;
  /** Kills the process and resolves once it has exited (or after 2 s). */
  kill(): Promise<void>;
}

const KILL_BOUND_MS = 2000;

function boundedExit(exited: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, KILL_BOUND_MS);
    timer.unref();
    void exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function spawnPty(argv: readonly string[], env: Record<string, string>, cwd: string, cols: number, rows: number, events: ProcessEvents): AgentProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  // encoding null: node-pty hands out Buffers (its typings still say string).
  const p = pty.spawn(file, args, { name: env['TERM'] ?? 'xterm-256color', cols, rows, cwd, env, encoding: null });
  let done = false;
  let resolveExit: () => void = () => {};
  const exited = new Promise<void>((resolve) => { resolveExit = resolve; });
  p.onData((data) => events.stdout(data as unknown as Buffer));
  p.onExit(({ exitCode, signal }) => {
    done = true;
    resolveExit();
    events.exit(signal !== undefined && signal !== 0 ? null : exitCode, signal !== undefined && signal !== 0 ? String(signal) : null);
  });
  return {
    pid: p.pid,
    write: (data) => {
      if (!done) p.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    },
    resize: (c, r) => {
      if (!done) p.resize(Math.max(1, c), Math.max(1, r));
    },
    pause: () => p.pause(),
    resume: () => p.resume(),
    kill: () => {
      if (!done) {
        try {
          p.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
      return boundedExit(exited);
    },
  };
}

export function spawnPipes(argv: readonly string[], env: Record<string, string>, cwd: string, events: ProcessEvents): AgentProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty argv');
  const child = spawnChild(file, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      resolve();
      events.exit(code, signal);
    });
  });
  child.stdout.on('data', (d: Buffer) => events.stdout(d));
  child.stderr.on('data', (d: Buffer) => events.stderr(d));
  child.stdin.on('error', () => {});
  child.on('error', () => {});
  return {
    pid: child.pid ?? -1,
    write: (data) => {
      if (!done) child.stdin.write(data);
    },
    resize: () => {},
    pause: () => {
      child.stdout.pause();
      child.stderr.pause();
    },
    resume: () => {
      child.stdout.resume();
      child.stderr.resume();
    },
    kill: () => {
      if (!done) child.kill('SIGKILL');
      return boundedExit(exited);
    },
  };
}
