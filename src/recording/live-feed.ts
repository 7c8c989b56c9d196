/**
 * One live session's feed (recording/live.ts explains the design): the handoff from the
 * recording, the headless terminal that holds the current screen, and every watcher's state —
 * waiting for its first snapshot, live, congested, resyncing.
 */
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import serializePkg from '@xterm/addon-serialize';
import headlessPkg from '@xterm/headless';
import type { Logger } from 'pino';
import { readCastPrefix } from './reader.js';
import { StreamRedactor } from './redact.js';
import type { Recorder } from './remote.js';

const { Terminal } = headlessPkg;
const { SerializeAddon } = serializePkg;
type XTerm = InstanceType<typeof Terminal>;
type Serializer = InstanceType<typeof SerializeAddon>;

/** Bytes queued towards one watcher beyond which it stops getting output until it drains. */
export const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** A congested watcher that has not drained within this long is dropped. */
const STALL_MS = 10_000;
/**
 * Output faster than this (chars per FLOOD_WINDOW_MS, 64 KB/s: more than anyone reads) is a flood
 * (`cat` of a big file): the headless terminal stops being fed. Parsing is the one costly thing
 * here (xterm parses ~50 MB/s, and scrolling costs more than parsing), and the terminal is only
 * needed for snapshots: while output is fast it is kept as text (the last TAIL chars), and the
 * screen is rebuilt from that when a snapshot is needed (a watcher joins or resyncs), after which
 * the terminal follows the output again. (Watchers themselves get every byte up to 2.6 MB/s, and
 * screen samples above: recording/flood.ts.)
 */
const FLOOD = 16 * 1024;
const FLOOD_WINDOW_MS = 250;
/** Chars of recent output kept to rebuild the screen after a flood (a screen and its scrollback). */
const TAIL = 128 * 1024;
/** A longer recording is replayed into the live screen from its last READ_TAIL bytes only. */
const READ_WHOLE = 4 * 1024 * 1024;
const READ_TAIL = 1024 * 1024;
/** Scrollback rows kept and sent in a snapshot. */
const SCROLLBACK = 1000;

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

export class Feed {
  private readonly watchers = new Map<WatcherSink, WatcherState>();
  private term: XTerm;
  private serializer: Serializer;
  private ready = false;
  private ended = false;
  private backlog: Msg[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private redactor: StreamRedactor | null = null;
  private tapping = false;
  private unfollow: (() => void) | null = null;
  private cols: number;
  private rows: number;
  private stale = false;
  private windowStart = 0;
  private windowChars = 0;
  private tail: string[] = [];
  private tailLength = 0;
  /** The alternate screen is active (followed also while the terminal is not fed, for rebuilds). */
  private alt = false;
  private readonly tap = (chunk: Buffer): void => this.onChunk(chunk);

  constructor(
    private readonly id: string,
    private readonly taps: Set<(chunk: Buffer) => void>,
    writer: Recorder | undefined,
    pty: { readonly cols: number; readonly rows: number } | undefined,
    private readonly deps: { readonly redact: boolean; readonly log: Logger },
    private readonly gone: () => void,
  ) {
    this.cols = pty?.cols ?? 80;
    this.rows = pty?.rows ?? 24;
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
    ({ term: this.term, serializer: this.serializer } = this.newTerminal());
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

  /**
   * The screen is now a sample of the output (a flood's tail) rather than the stream: the
   * terminal is rebuilt from it lazily, when a snapshot needs it.
   */
  private redraw(text: string): void {
    this.tail = [text];
    this.tailLength = text.length;
    if (text.includes('\x1b[?')) this.followAlt(text);
    this.stale = true;
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
    sink.snapshot(this.serializer.serialize({ scrollback: SCROLLBACK }), this.term.cols, this.term.rows);
    const queue = w.queue;
    w.queue = [];
    w.queued = 0;
    w.mode = 'live';
    for (const m of queue) {
      if (m.kind === 'o') sink.output(m.text);
      else sink.resize(m.cols, m.rows);
    }
  }

  private feedTerm(text: string): void {
    this.tail.push(text);
    this.tailLength += text.length;
    while (this.tailLength > TAIL && this.tail.length > 1) this.tailLength -= (this.tail.shift() as string).length;
    if (text.includes('\x1b[?')) this.followAlt(text);
    const now = performance.now();
    if (now - this.windowStart > FLOOD_WINDOW_MS) {
      this.windowStart = now;
      this.windowChars = 0;
    }
    this.windowChars += text.length;
    if (this.stale) return;
    if (this.windowChars > FLOOD && this.ready) {
      this.stale = true;
      return;
    }
    this.term.write(text);
  }

  private resizeTerm(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    if (this.stale) return;
    // In stream order: after the output written before it has been parsed.
    this.term.write('', () => this.term.resize(clamp(cols, 1000), clamp(rows, 500)));
  }

  private followAlt(text: string): void {
    const on = Math.max(text.lastIndexOf('\x1b[?1049h'), text.lastIndexOf('\x1b[?1047h'), text.lastIndexOf('\x1b[?47h'));
    const off = Math.max(text.lastIndexOf('\x1b[?1049l'), text.lastIndexOf('\x1b[?1047l'), text.lastIndexOf('\x1b[?47l'));
    if (on !== off) this.alt = on > off;
  }

  /** After a flood: a fresh terminal holding the last TAIL chars of output (on the alternate screen if that is active). */
  private rebuild(): void {
    this.term.dispose();
    ({ term: this.term, serializer: this.serializer } = this.newTerminal());
    this.stale = false;
    this.windowChars = 0;
    this.term.write((this.alt ? '\x1b[?1049h' : '') + this.tail.join(''));
  }

  private newTerminal(): { term: XTerm; serializer: Serializer } {
    const term = new Terminal({ cols: clamp(this.cols, 1000), rows: clamp(this.rows, 500), scrollback: SCROLLBACK, allowProposedApi: true });
    const serializer = new SerializeAddon();
    term.loadAddon(serializer as unknown as Parameters<XTerm['loadAddon']>[0]);
    return { term, serializer };
  }

  private dispose(): void {
    this.taps.delete(this.tap);
    this.unfollow?.();
    this.term.dispose();
    this.ended = true;
    this.gone();
  }
}

const clamp = (n: number, max: number): number => Math.max(1, Math.min(max, Math.floor(n) || 1));
