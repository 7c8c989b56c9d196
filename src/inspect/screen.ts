/**
 * The emulated terminal of one inspected session: target output goes in, the screen comes out as
 * the shell drew it (its echo after completion, history and editing). One @xterm/headless
 * terminal per session, sized like the responder's PTY and resized with it, no scrollback (a line
 * the screen cannot show is not read).
 *
 * Feeding never blocks the relay: xterm parses asynchronously, in slices, at about 80 MB/s. When
 * more than FLOOD_BYTES wait to be parsed (a 250 MB `cat`), the feed stops: output is not given to
 * xterm at all (only the last TAIL_BYTES are kept, and alternate-screen switches are noted) until
 * the output has been quiet for FLOOD_QUIET_MS. Then the emulator is reset, the tail replayed,
 * and the screen is marked unknown: the inspector redraws the line before it reads it, or denies.
 * Memory per session is bounded by FLOOD_BYTES + TAIL_BYTES whatever the target prints.
 */
import pkg from '@xterm/headless';
import type { Clock, Timer } from '../domain/clock.js';
import type { Rows } from './line.js';

const { Terminal } = pkg;
type XTerm = InstanceType<typeof Terminal>;
type Cell = NonNullable<ReturnType<NonNullable<ReturnType<XTerm['buffer']['active']['getLine']>>['getCell']>>;

/** Bytes fed but not yet parsed beyond which the feed stops: ~6 ms of parsing. */
export const FLOOD_BYTES = 512 * 1024;
/** Output quiet this long ends a flood. */
export const FLOOD_QUIET_MS = 50;
/** The end of a flood replayed into the fresh emulator, so the last screenful is there again. */
export const TAIL_BYTES = 64 * 1024;
/** Writes in flight at most (the ring of their lengths); more counts as a flood too. */
const RING = 4096;

const ALT_ON = [Buffer.from('\x1b[?1049h'), Buffer.from('\x1b[?1047h'), Buffer.from('\x1b[?47h')];
const ALT_OFF = [Buffer.from('\x1b[?1049l'), Buffer.from('\x1b[?1047l'), Buffer.from('\x1b[?47l')];

export interface ScreenHooks {
  /** An OSC 133 payload (after `133;`), in stream order, with the screen as it was there. */
  mark(payload: string): void;
  /** The active buffer switched (true: the alternate screen). */
  altScreen(active: boolean): void;
  /** Bracketed paste was switched on (readline does so each time it starts reading a line). */
  pasteModeOn(): void;
}

export class Screen implements Rows {
  private readonly term: XTerm;
  private readonly cell: Cell;
  private readonly lengths = new Int32Array(RING);
  private head = 0;
  private inFlight = 0;
  /** Bytes given to xterm and not yet parsed. */
  private backlog = 0;
  private waiters: (() => void)[] = [];
  private flooding = false;
  private floodAlt = false;
  private lastFloodChunkAt = 0;
  private floodTimer: Timer | null = null;
  /** Allocated at the first flood (most sessions never have one). */
  private tail: Buffer | null = null;
  private tailLength = 0;
  private tailStart = 0;
  private replaying = false;
  private closed = false;
  /** False after a flood until the inspector has seen the line redrawn (or a prompt mark). */
  known = true;

  constructor(
    cols: number,
    rows: number,
    private readonly clock: Clock,
    private readonly hooks: ScreenHooks,
  ) {
    this.term = new Terminal({ cols, rows, scrollback: 0, allowProposedApi: true, logLevel: 'off' });
    this.term.parser.registerOscHandler(133, (data) => {
      hooks.mark(data);
      return true;
    });
    this.term.parser.registerCsiHandler({ prefix: '?', final: 'h' }, (params) => {
      if (params.includes(2004)) hooks.pasteModeOn();
      return false;
    });
    this.term.buffer.onBufferChange((b) => {
      if (!this.replaying) hooks.altScreen(b.type === 'alternate');
    });
    const line = this.term.buffer.active.getLine(0);
    this.cell = line?.getCell(0) as Cell;
  }

  /** Feeds target output. Never blocks, never buffers more than FLOOD_BYTES. */
  feed(chunk: Buffer): void {
    if (this.closed) return;
    if (this.flooding) {
      this.keep(chunk);
      return;
    }
    if (this.backlog + chunk.length > FLOOD_BYTES || this.inFlight === RING) {
      this.startFlood(chunk);
      return;
    }
    this.lengths[(this.head + this.inFlight) % RING] = chunk.length;
    this.inFlight++;
    this.backlog += chunk.length;
    this.term.write(chunk, this.parsed);
  }

  private readonly parsed = (): void => {
    this.backlog -= this.lengths[this.head] as number;
    this.head = (this.head + 1) % RING;
    this.inFlight--;
    if (this.inFlight === 0 && !this.flooding && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  };

  /** Everything fed so far has been parsed (and no flood is on). */
  get caughtUp(): boolean {
    return this.inFlight === 0 && !this.flooding;
  }

  /** Calls `fn` once everything fed so far is on the screen (after a flood ends, if one is on). */
  whenCaughtUp(fn: () => void): void {
    if (this.caughtUp) fn();
    else this.waiters.push(fn);
  }

  get flood(): boolean {
    return this.flooding;
  }

  private startFlood(chunk: Buffer): void {
    this.flooding = true;
    this.known = false;
    this.floodAlt = this.altActive;
    this.tailLength = 0;
    this.tailStart = 0;
    this.keep(chunk);
    this.floodTimer = this.clock.setTimer(FLOOD_QUIET_MS, this.checkFlood);
  }

  private keep(chunk: Buffer): void {
    this.lastFloodChunkAt = this.clock.now();
    // Alternate-screen switches inside dropped output still count (the last one in the chunk wins).
    let on = -1;
    let off = -1;
    for (const s of ALT_ON) on = Math.max(on, chunk.lastIndexOf(s));
    for (const s of ALT_OFF) off = Math.max(off, chunk.lastIndexOf(s));
    if (on >= 0 || off >= 0) this.floodAlt = on > off;
    // Ring of the last TAIL_BYTES.
    const tail = (this.tail ??= Buffer.alloc(TAIL_BYTES));
    let src = chunk.length > TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : chunk;
    while (src.length > 0) {
      const at = (this.tailStart + this.tailLength) % TAIL_BYTES;
      const n = Math.min(src.length, TAIL_BYTES - at);
      src.copy(tail, at, 0, n);
      src = src.subarray(n);
      if (this.tailLength + n <= TAIL_BYTES) this.tailLength += n;
      else {
        this.tailStart = (this.tailStart + (this.tailLength + n - TAIL_BYTES)) % TAIL_BYTES;
        this.tailLength = TAIL_BYTES;
      }
    }
  }

  private readonly checkFlood = (): void => {
    this.floodTimer = null;
    if (this.closed) return;
    const quiet = this.clock.now() - this.lastFloodChunkAt;
    if (this.inFlight > 0 || quiet < FLOOD_QUIET_MS) {
      this.floodTimer = this.clock.setTimer(Math.max(1, FLOOD_QUIET_MS - quiet), this.checkFlood);
      return;
    }
    this.endFlood();
  };

  private endFlood(): void {
    const wasAlt = this.altActive;
    this.replaying = true;
    this.term.reset();
    const ring = this.tail ?? Buffer.alloc(0);
    const tail = Buffer.alloc(this.tailLength);
    const first = Math.min(this.tailLength, TAIL_BYTES - this.tailStart);
    ring.copy(tail, 0, this.tailStart, this.tailStart + first);
    ring.copy(tail, first, 0, this.tailLength - first);
    this.tailLength = 0;
    this.flooding = false;
    // Replayed through the normal path (counted, parsed in order); marks in it are real and recent.
    const replay = this.floodAlt ? Buffer.concat([ALT_ON[0] as Buffer, tail]) : tail;
    this.feed(replay);
    this.whenCaughtUp(() => {
      this.replaying = false;
      if (this.altActive !== wasAlt) this.hooks.altScreen(this.altActive);
    });
  }

  resize(cols: number, rows: number): void {
    if (this.closed) return;
    try {
      this.term.resize(Math.max(1, cols), Math.max(1, rows));
    } catch {
      // xterm refuses absurd sizes; the relay clamps them anyway
    }
  }

  get altActive(): boolean {
    return this.term.buffer.active.type === 'alternate';
  }

  get bracketedPaste(): boolean {
    return this.term.modes.bracketedPasteMode;
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  get cursorX(): number {
    return this.term.buffer.active.cursorX;
  }

  get cursorY(): number {
    return this.term.buffer.active.cursorY;
  }

  text(y: number, trim: boolean, end?: number): string {
    const b = this.term.buffer.active;
    return b.getLine(b.baseY + y)?.translateToString(trim, 0, end) ?? '';
  }

  wrapped(y: number): boolean {
    const b = this.term.buffer.active;
    return b.getLine(b.baseY + y)?.isWrapped ?? false;
  }

  writtenSpaceAfterText(y: number): boolean {
    const b = this.term.buffer.active;
    const line = b.getLine(b.baseY + y);
    if (line === undefined) return false;
    let x = line.length - 1;
    for (; x >= 0; x--) {
      const ch = line.getCell(x, this.cell)?.getChars() ?? '';
      if (ch !== '' && ch !== ' ') break;
    }
    return (line.getCell(x + 1, this.cell)?.getChars() ?? '') === ' ';
  }

  close(): void {
    this.closed = true;
    this.floodTimer?.cancel();
    this.waiters = [];
    this.term.dispose();
  }
}
