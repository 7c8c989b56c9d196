/**
 * Helpers for the SSM connector integration tests: a sink that records everything and can be
 * awaited, and target/request builders. Every resource a test opens is registered with a
 * `Cleanup` and released in afterEach, pass or fail.
 */
import type { ExitStatus, OpenRequest, PtySpec, Upstream, UpstreamSink } from '../../src/connectors/types.js';
import type { SsmTargetSpec, Target } from '../../src/domain/types.js';

export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDGATEHOUSETEST', secretAccessKey: 'not-a-secret' };
export const REGION = 'us-east-1';

export class RecordingSink implements UpstreamSink {
  readonly chunks: Buffer[] = [];
  readonly errChunks: Buffer[] = [];
  drains = 0;
  exitStatus: ExitStatus | null = null;
  exitCalls = 0;
  closedCalls = 0;
  closedError: Error | undefined;
  private waiters: Array<() => void> = [];
  private cachedText = '';
  private cachedCount = 0;
  readonly closedPromise: Promise<Error | undefined>;
  private resolveClosed: (e: Error | undefined) => void = () => {};

  constructor() {
    this.closedPromise = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  get text(): string {
    if (this.cachedCount !== this.chunks.length) {
      this.cachedText = Buffer.concat(this.chunks).toString('utf8');
      this.cachedCount = this.chunks.length;
    }
    return this.cachedText;
  }

  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  get stderrText(): string {
    return Buffer.concat(this.errChunks).toString('utf8');
  }

  data(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.wake();
  }

  stderr(chunk: Buffer): void {
    this.errChunks.push(Buffer.from(chunk));
    this.wake();
  }

  drain(): void {
    this.drains++;
    this.wake();
  }

  exit(status: ExitStatus): void {
    this.exitCalls++;
    this.exitStatus = status;
    this.wake();
  }

  closed(error?: Error): void {
    this.closedCalls++;
    this.closedError = error;
    this.resolveClosed(error);
    this.wake();
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` with what was seen. */
  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; output tail: ${JSON.stringify(this.text.slice(-400))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the output (from `from` on) contains `needle`; returns the index after it. */
  async waitForText(needle: string | RegExp, timeoutMs = 10_000, from = 0): Promise<number> {
    let end = -1;
    await this.until(() => {
      const hay = this.text.slice(from);
      if (typeof needle === 'string') {
        const i = hay.indexOf(needle);
        if (i >= 0) end = from + i + needle.length;
      } else {
        const m = needle.exec(hay);
        if (m !== null) end = from + m.index + m[0].length;
      }
      return end >= 0;
    }, `output ${String(needle)}`, timeoutMs);
    return end;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export function ssmTarget(spec: Partial<SsmTargetSpec> & { instanceId: string }, extras: Record<string, unknown> = {}): Target {
  return {
    name: `ssm-${spec.instanceId}`,
    kind: 'ssm',
    labels: {},
    owners: [],
    ssm: { region: REGION, ...spec, ...extras } as SsmTargetSpec,
  };
}

export function openRequest(target: Target, opts: { command?: string; pty?: PtySpec | null; signal?: AbortSignal } = {}): OpenRequest {
  return {
    sessionId: `gh-test-${Math.random().toString(16).slice(2, 10)}`,
    target,
    pty: opts.pty === null ? undefined : (opts.pty ?? { term: 'xterm-256color', cols: 80, rows: 24 }),
    command: opts.command,
    env: {},
    signal: opts.signal ?? new AbortController().signal,
  };
}

/** LIFO disposal of everything a test opened; errors are collected, not thrown midway. */
export class Cleanup {
  private readonly tasks: Array<() => Promise<unknown> | unknown> = [];

  add(task: () => Promise<unknown> | unknown): void {
    this.tasks.push(task);
  }

  upstream(u: Upstream): Upstream {
    this.add(() => u.close('test cleanup'));
    return u;
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.tasks.length > 0) {
      const task = this.tasks.pop();
      try {
        await task?.();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** Writes one byte at a time, honouring write() backpressure via the sink's drain count. */
export async function typeBytes(upstream: Upstream, sink: RecordingSink, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    const drainsBefore = sink.drains;
    if (!upstream.write(bytes.subarray(i, i + 1))) await sink.until(() => sink.drains > drainsBefore, 'drain');
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
