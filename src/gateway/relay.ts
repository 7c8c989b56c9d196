/**
 * The data path between the responder's SSH channel and the upstream, with backpressure both ways:
 *
 *   target ──data──► [recording, taps] ──► pending ──one write at a time──► channel ──► client
 *        ▲                                   │ over 256 KB: upstream.pause()
 *        └──────── upstream.resume() ◄───────┘ handed on when the write in flight completes
 *   (recording congested: pause as well, resume when it drains — the disk is part of the path)
 *
 *   responder ──data──► inputHandler (inspection, or straight) ──► upstream.write ──false──► channel.pause()
 *                                                                  ◄──sink.drain── channel.resume()
 *
 * Target output waits in `pending` (references, no copy) while a write to the channel is in
 * flight, and goes on as one write when it completes: ssh2's own queue (2 MB before it says
 * "full") stays near empty, and a tick's chunks are copied into a reused gather buffer instead of
 * a new one. Bulk output then allocates less external memory per MB, which is what drove V8 to
 * major collections (bench/RESULTS.md, 2026-12-04).
 * Nothing here allocates per chunk beyond what Node and ssh2 do; taps are called only when present.
 */
import type { ServerChannel } from 'ssh2';
import type { ExitStatus, Upstream, UpstreamSink } from '../connectors/types.js';
import type { Recorder } from '../recording/remote.js';

export interface RelayEvents {
  exit(status: ExitStatus): void;
  closed(err?: Error): void;
  clientClosed(): void;
}

/** How long a broker-ended session waits for queued output to reach the client before cutting it. */
const FINISH_GRACE_MS = 250;

/** Output waiting for the write in flight beyond which the target is paused. */
const BACKLOG_PAUSE_BYTES = 256 * 1024;
/** Size of a gather buffer; a tick's output larger than this is concatenated instead. */
const GATHER_BYTES = 256 * 1024;
/** Gather buffers not lent to a write in flight, shared by every relay on this thread. */
const spareGather: Buffer[] = [];
const SPARE_GATHER_MAX = 4;

export class Relay {
  readonly taps = new Set<(chunk: Buffer) => void>();
  readonly sink: UpstreamSink;
  readonly stats = { bytesIn: 0, bytesOut: 0 };
  /** Replaced by interactive inspection to judge keystrokes before they go upstream. */
  inputHandler: (chunk: Buffer) => void;
  /** Observes target output (the inspection emulator); not for writing. */
  outputObserver: ((chunk: Buffer) => void) | null = null;
  /**
   * While set, target output goes here first (inspection hides its shell-integration setup): it
   * returns the part to relay as usual (client, recording, observer, taps), or null for none.
   * What it keeps back reaches no one but itself.
   */
  outputDiverter: ((chunk: Buffer) => Buffer | null) | null = null;
  private upstream: Upstream | null = null;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushQueued = false;
  /** Channel writes whose callback has not run yet (ssh2 still holds or is sending them). */
  private writesInFlight = 0;
  /** The gather buffer lent to the first write in flight, returned by its callback. */
  private lent: Buffer | null = null;
  private pausedForClient = false;
  private pausedForDisk = false;
  private pausedForBacklog = false;
  private clientDone = false;
  private finishing: Promise<void> | null = null;

  constructor(
    private readonly channel: ServerChannel,
    private readonly recorder: Recorder | null,
    private readonly pty: boolean,
    private readonly events: RelayEvents,
  ) {
    this.inputHandler = (chunk) => this.toUpstream(chunk);
    this.sink = {
      data: (chunk) => this.fromUpstream(chunk, false),
      stderr: (chunk) => this.fromUpstream(chunk, true),
      drain: () => channel.resume(),
      exit: (status) => events.exit(status),
      closed: (err) => events.closed(err),
    };
    channel.on('drain', () => {
      if (this.pausedForClient) {
        this.pausedForClient = false;
        this.resumeUpstream();
      }
    });
    channel.on('close', () => {
      this.clientDone = true;
      events.clientClosed();
    });
    channel.on('error', () => {});
    channel.stderr.on('error', () => {});
  }

  /** Starts the client → target direction once the upstream exists. */
  attach(upstream: Upstream): void {
    this.upstream = upstream;
    if (this.pausedForClient || this.pausedForDisk || this.pausedForBacklog) upstream.pause();
    this.channel.on('data', (chunk: Buffer) => {
      this.stats.bytesIn += chunk.length;
      this.inputHandler(chunk);
    });
    this.channel.on('end', () => upstream.endInput());
  }

  /**
   * Sends keystrokes or stdin on (also used by inspection once it has decided). `record: false`
   * keeps it out of the recording: a secret typed at a password prompt, the broker's own keys.
   */
  toUpstream(chunk: Buffer, record = true): void {
    const up = this.upstream;
    if (up === null) return;
    if (record) this.recorder?.input(chunk);
    if (!up.write(chunk)) this.channel.pause();
  }

  /** Writes to the responder's terminal only (not recorded as target output). */
  toClient(text: string): void {
    this.flushOutput();
    if (!this.clientDone) this.channel.write(text);
  }

  private fromUpstream(data: Buffer, stderr: boolean): void {
    this.stats.bytesOut += data.length;
    let chunk = data;
    if (this.outputDiverter !== null) {
      const rest = this.outputDiverter(data);
      if (rest === null || rest.length === 0) return;
      chunk = rest;
    }
    const rec = this.recorder;
    if (rec !== null) {
      rec.output(chunk);
      if (rec.congested && !this.pausedForDisk) {
        this.pausedForDisk = true;
        this.upstream?.pause();
        rec.onceDrained(() => {
          this.pausedForDisk = false;
          this.resumeUpstream();
        });
      }
    }
    this.outputObserver?.(chunk);
    if (this.taps.size > 0) for (const tap of this.taps) tap(chunk);
    if (this.clientDone) return;
    if (stderr) {
      this.flushOutput();
      this.pauseIfFull(this.channel.stderr.write(chunk));
      return;
    }
    // One read from the target's socket often holds several SSH packets, each a 'data' event in
    // the same tick: gathered and sent as one write after the tick (no added latency), the client
    // gets fewer, fuller packets — fewer encryptions, syscalls and window updates per MB.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= BACKLOG_PAUSE_BYTES && !this.pausedForBacklog) {
      this.pausedForBacklog = true;
      this.upstream?.pause();
    }
    if (!this.flushQueued && this.writesInFlight === 0) {
      this.flushQueued = true;
      queueMicrotask(this.flushTick);
    }
  }

  private readonly flushTick = (): void => {
    this.flushQueued = false;
    if (this.writesInFlight === 0) this.writePending(true);
  };

  /** Writes target output gathered so far; anything written to the client after must call it first. */
  private flushOutput(): void {
    this.writePending(false);
  }

  /**
   * Hands `pending` to the channel as one write. `gather` (only with no write in flight) copies
   * several chunks into a spare gather buffer, lent until this write's callback; otherwise they are
   * concatenated.
   */
  private writePending(gather: boolean): void {
    const p = this.pending;
    if (p.length === 0) return;
    const total = this.pendingBytes;
    this.pendingBytes = 0;
    if (this.clientDone) {
      p.length = 0;
      return;
    }
    let chunk: Buffer;
    if (p.length === 1) {
      chunk = p[0] as Buffer;
    } else if (gather && total <= GATHER_BYTES) {
      const buf = spareGather.pop() ?? Buffer.allocUnsafeSlow(GATHER_BYTES);
      let at = 0;
      for (const c of p) {
        buf.set(c, at);
        at += c.length;
      }
      this.lent = buf;
      chunk = buf.subarray(0, total);
    } else {
      chunk = Buffer.concat(p, total);
    }
    p.length = 0;
    this.writesInFlight++;
    this.pauseIfFull(this.channel.write(chunk, this.written));
    if (this.pausedForBacklog) {
      this.pausedForBacklog = false;
      this.resumeUpstream();
    }
  }

  /** A channel write's callback (in write order): ssh2 has sent it on, its buffer is free again. */
  private readonly written = (err?: Error | null): void => {
    this.writesInFlight--;
    if (this.lent !== null) {
      // The first callback after a gathered write is that write's: it was issued with none in flight.
      if (!err && spareGather.length < SPARE_GATHER_MAX) spareGather.push(this.lent);
      this.lent = null;
    }
    if (this.writesInFlight === 0 && !err) this.writePending(true);
  };

  /** A write to the client returned `ok`: when false, the target waits for the client's drain. */
  private pauseIfFull(ok: boolean): void {
    if (!ok && !this.pausedForClient) {
      this.pausedForClient = true;
      this.upstream?.pause();
    }
  }

  private resumeUpstream(): void {
    if (!this.pausedForClient && !this.pausedForDisk && !this.pausedForBacklog) this.upstream?.resume();
  }

  resize(cols: number, rows: number): void {
    this.recorder?.resize(cols, rows);
    this.upstream?.resize(cols, rows);
  }

  /** A line from the broker to the responder (why the session ends, why a command was refused). */
  notice(message: string, important: boolean): void {
    this.flushOutput();
    if (this.clientDone) return;
    const line = this.pty ? `\r\n[gatehouse] ${message}\r\n` : `[gatehouse] ${message}\n`;
    try {
      if (this.pty) this.channel.write(line);
      else if (important) this.channel.stderr.write(line);
    } catch {
      // client gone
    }
  }

  /** Sends the exit status and closes the channel, after queued output (bounded wait). */
  finishClient(status: ExitStatus | null): Promise<void> {
    this.flushOutput();
    this.finishing ??= new Promise<void>((resolve) => {
      const ch = this.channel;
      if (this.clientDone) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        try {
          if (status?.signal) ch.exit(status.signal, false, '');
          else if (status) ch.exit(status.code ?? 0);
          ch.end();
        } catch {
          // already closed
        }
        resolve();
      };
      const timer = setTimeout(() => {
        ch.close();
        resolve();
      }, FINISH_GRACE_MS);
      if (ch.writableNeedDrain || ch.stderr.writableNeedDrain) ch.once('drain', done);
      else done();
    });
    return this.finishing;
  }

  flushed(): Promise<void> {
    return this.finishing ?? Promise.resolve();
  }
}
