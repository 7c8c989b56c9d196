/**
 * One live session's feed (recording/live.ts explains the design): the handoff from the
 * recording, the headless terminal that holds the current screen (live-screen.ts), and every
 * watcher's state — waiting for its first snapshot, live, congested, resyncing.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { LiveScreen } from './live-screen.js';
import { readCastPrefix } from './reader.js';
import { StreamRedactor } from './redact.js';
import type { Recorder } from './remote.js';

/** Bytes queued towards one watcher beyond which it stops getting output until it drains. */
export const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** A congested watcher that has not drained within this long is dropped. */
const STALL_MS = 10_000;
/** A longer recording is replayed into the live screen from its last READ_TAIL bytes only. */
const READ_WHOLE = 4 * 1024 * 1024;
const READ_TAIL = 1024 * 1024;

/** One watcher's transport. */
export interface WatcherSink {
  /** The current screen as escape sequences, for a terminal of `cols`×`rows` (first message, and after a resync). */
  snapshot(screen: string, cols: number, rows: number): void;
  output(text: string): void;
  resize(cols: number, rows: number): void;
  /** The session ended (or the watcher was dropped); nothing follows. */
  end(reason: string): void;
  /** Bytes queued towards the watcher and not yet sent. */
  readonly buffered: number;
}

/** Output, a resize, or a flood's screen sample. */
type Msg = { kind: 'o'; text: string } | { kind: 'r'; cols: number; rows: number } | { kind: 's'; text: string };
type StreamMsg = Exclude<Msg, { kind: 's' }>;

interface WatcherState {
  mode: 'waiting' | 'snapshotting' | 'live' | 'congested';
  queue: StreamMsg[];
  queued: number;
  since: number;
  timer: NodeJS.Timeout | null;
}

export class Feed extends LiveScreen {
  private readonly watchers = new Map<WatcherSink, WatcherState>();
  private ended = false;
  private backlog: Msg[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private redactor: StreamRedactor | null = null;
  private tapping = false;
  private unfollow: (() => void) | null = null;
  private readonly tap = (chunk: Buffer): void => this.onChunk(chunk);

  constructor(
    private readonly id: string,
    private readonly taps: Set<(chunk: Buffer) => void>,
    writer: Recorder | undefined,
    pty: { readonly cols: number; readonly rows: number } | undefined,
    private readonly deps: { readonly redact: boolean; readonly log: Logger },
    private readonly gone: () => void,
  ) {
    super(pty?.cols ?? 80, pty?.rows ?? 24);
    // Handoff and subscription in one step (see the file comment): the recording says how much of
    // its file holds the session so far, and everything recorded after that comes to this feed.
    let handoff: Promise<{ path: string; bytes: number }> | undefined;
    if (writer !== undefined) {
      const w = writer.watch({
        output: (text) => this.deliver({ kind: 'o', text }),
        resize: (cols, rows) => this.deliver({ kind: 'r', cols, rows }),
        screen: (text) => this.deliver({ kind: 's', text }),
      });
      this.unfollow = w.stop;
      handoff = w.handoff;
    } else this.useTaps(deps.redact ? new StreamRedactor() : null);
    void this.init(handoff).catch((err: unknown) => {
      deps.log.warn({ err, sessionId: id }, 'live view: the recording so far could not be read; starting from a blank screen');
      this.becomeReady();
    });
  }

  /** From here on, output comes raw from the relay and is redacted here. */
  private useTaps(redactor: StreamRedactor | null): void {
    if (this.tapping) return;
    this.tapping = true;
    this.redactor = redactor;
    this.taps.add(this.tap);
  }

  get size(): number {
    return this.watchers.size;
  }

  add(sink: WatcherSink): void {
    const w: WatcherState = { mode: 'waiting', queue: [], queued: 0, since: 0, timer: null };
    this.watchers.set(sink, w);
    if (this.ready) this.snapshot(sink, w);
  }

  remove(sink: WatcherSink): void {
    const w = this.watchers.get(sink);
    if (w === undefined) return;
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(sink);
    if (this.watchers.size === 0) this.dispose();
  }

  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.redactor) for (const p of this.redactor.flush()) this.deliver({ kind: 'o', text: p.text });
    const finish = (): void => {
      for (const [sink, w] of this.watchers) {
        if (w.mode === 'snapshotting' || w.mode === 'waiting') this.sendSnapshot(sink, w);
        if (w.timer) clearTimeout(w.timer);
        sink.end(reason);
      }
      this.watchers.clear();
      this.dispose();
    };
    if (!this.ready) return finish();
    // Watchers still waiting for their first screen get it as it stands.
    if (this.stale && [...this.watchers.values()].some((w) => w.mode === 'waiting' || w.mode === 'snapshotting')) this.rebuild();
    if (this.stale) finish();
    else this.term.write('', finish);
  }

  private async init(pending: Promise<{ path: string; bytes: number }> | undefined): Promise<void> {
    if (pending !== undefined) {
      const handoff = await pending;
      const cast = await readCastPrefix(handoff.path, handoff.bytes, READ_WHOLE, READ_TAIL);
      if (this.ended) return;
      this.resizeTerm(cast.header.width, cast.header.height);
      for (const [, code, data] of cast.events) {
        if (code === 'o') this.feedTerm(data);
        else if (code === 'r') {
          const m = /^(\d+)x(\d+)$/.exec(data);
          if (m) this.resizeTerm(Number(m[1]), Number(m[2]));
        }
      }
    }
    this.becomeReady();
  }

  private becomeReady(): void {
    if (this.ready || this.ended) return;
    this.ready = true;
    const backlog = this.backlog;
    this.backlog = [];
    for (const m of backlog) this.apply(m);
    for (const [sink, w] of this.watchers) if (w.mode === 'waiting') this.snapshot(sink, w);
  }

  private onChunk(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    if (text.length === 0) return;
    if (this.redactor === null) return this.deliver({ kind: 'o', text });
    const pieces = this.redactor.push(text, 0);
    for (let k = 0; k < pieces.length; k++) this.deliver({ kind: 'o', text: (pieces[k] as { text: string }).text });
  }

  private deliver(m: Msg): void {
    if (!this.ready) {
      this.backlog.push(m);
      return;
    }
    this.apply(m);
    if (m.kind === 's') {
      // A flood's screen sample (recording/flood.ts): every watcher redraws from it, itself. The
      // sample starts at a line start, so a reset terminal fed with it shows what this feed's
      // terminal would; sending it as it is spares parsing and serializing it here.
      const screen = (this.alt ? '\x1b[?1049h' : '') + m.text;
      for (const [sink, w] of this.watchers) {
        if (w.mode !== 'live' && w.mode !== 'snapshotting') continue;
        w.mode = 'live'; // a snapshot still being taken is superseded (its callback sees this)
        w.queue = [];
        w.queued = 0;
        sink.snapshot(screen, this.cols, this.rows);
      }
      return;
    }
    for (const [sink, w] of this.watchers) this.send(sink, w, m);
  }

  private apply(m: Msg): void {
    if (m.kind === 'o') this.feedTerm(m.text);
    else if (m.kind === 'r') this.resizeTerm(m.cols, m.rows);
    else this.redraw(m.text);
  }

  private send(sink: WatcherSink, w: WatcherState, m: StreamMsg): void {
    if (w.mode === 'live') {
      if (sink.buffered > HIGH_WATER) return this.congest(sink, w);
      if (m.kind === 'o') sink.output(m.text);
      else sink.resize(m.cols, m.rows);
    } else if (w.mode === 'snapshotting') {
      w.queue.push(m);
      w.queued += m.kind === 'o' ? m.text.length : 16;
      if (w.queued > HIGH_WATER) this.congest(sink, w);
    }
    // waiting: the snapshot will include it; congested: the resync snapshot will.
  }

  /** Stops sending to a watcher that cannot keep up; resyncs it once it drains, drops it if it never does. */
  private congest(sink: WatcherSink, w: WatcherState): void {
    w.mode = 'congested';
    w.queue = [];
    w.queued = 0;
    w.since = Date.now();
    const check = (): void => {
      w.timer = null;
      if (!this.watchers.has(sink)) return;
      if (sink.buffered <= LOW_WATER) return this.snapshot(sink, w);
      if (Date.now() - w.since > STALL_MS) {
        this.watchers.delete(sink);
        sink.end('the watcher could not keep up with the session');
        if (this.watchers.size === 0) this.dispose();
        return;
      }
      w.timer = setTimeout(check, 50);
    };
    w.timer = setTimeout(check, 50);
  }

  /** Takes a snapshot at a write barrier: everything before it is in the screen, everything after is queued. */
  private snapshot(sink: WatcherSink, w: WatcherState): void {
    w.mode = 'snapshotting';
    w.queue = [];
    w.queued = 0;
    if (this.stale) this.rebuild();
    this.term.write('', () => {
      if (this.watchers.get(sink) === w && w.mode === 'snapshotting') this.sendSnapshot(sink, w);
    });
  }

  private sendSnapshot(sink: WatcherSink, w: WatcherState): void {
    sink.snapshot(this.serialize(), this.term.cols, this.term.rows);
    const queue = w.queue;
    w.queue = [];
    w.queued = 0;
    w.mode = 'live';
    for (const m of queue) {
      if (m.kind === 'o') sink.output(m.text);
      else sink.resize(m.cols, m.rows);
    }
  }

  private dispose(): void {
    this.taps.delete(this.tap);
    this.unfollow?.();
    this.term.dispose();
    this.ended = true;
    this.gone();
  }
}
