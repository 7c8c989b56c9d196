/**
 * The headless terminal behind one live session's feed (live-feed.ts): it holds the current screen
 * for snapshots, follows the output and resizes in stream order, and stops being fed during a flood,
 * keeping only the recent output as text to rebuild the screen from. The feed handles the handoff
 * and the watchers; this file is the one place that knows xterm.
 *
 * A base class of Feed rather than a member, so that output on the hot path reaches the terminal
 * without one more hop.
 */
import { performance } from 'node:perf_hooks';
import serializePkg from '@xterm/addon-serialize';
import headlessPkg from '@xterm/headless';

const { Terminal } = headlessPkg;
const { SerializeAddon } = serializePkg;
type XTerm = InstanceType<typeof Terminal>;
type Serializer = InstanceType<typeof SerializeAddon>;

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
/** Scrollback rows kept and sent in a snapshot. */
const SCROLLBACK = 1000;

export abstract class LiveScreen {
  protected term: XTerm;
  private serializer: Serializer;
  /** The recording so far has been replayed (set by the feed): until then fast output is no flood. */
  protected ready = false;
  protected stale = false;
  private windowStart = 0;
  private windowChars = 0;
  private tail: string[] = [];
  private tailLength = 0;
  /** The alternate screen is active (followed also while the terminal is not fed, for rebuilds). */
  protected alt = false;

  protected constructor(
    protected cols: number,
    protected rows: number,
  ) {
    ({ term: this.term, serializer: this.serializer } = this.newTerminal());
  }

  /** The screen and its scrollback as escape sequences (a snapshot). */
  protected serialize(): string {
    return this.serializer.serialize({ scrollback: SCROLLBACK });
  }

  /**
   * The screen is now a sample of the output (a flood's tail) rather than the stream: the
   * terminal is rebuilt from it lazily, when a snapshot needs it.
   */
  protected redraw(text: string): void {
    this.tail = [text];
    this.tailLength = text.length;
    if (text.includes('\x1b[?')) this.followAlt(text);
    this.stale = true;
  }

  protected feedTerm(text: string): void {
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

  protected resizeTerm(cols: number, rows: number): void {
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
  protected rebuild(): void {
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
}

const clamp = (n: number, max: number): number => Math.max(1, Math.min(max, Math.floor(n) || 1));
