/**
 * Safe replay in a real terminal (`gatehouse replay`, `gatehouse sessions watch`): a recording is
 * whatever the target printed, and some escape sequences act on the *viewer's* terminal rather than
 * draw on its screen. Those are removed; everything that only draws passes through unchanged.
 *
 * Removed:
 *   - every OSC string: OSC 52 (clipboard read/write), OSC 1337 (iTerm2: file transfer, ...),
 *     OSC 0/1/2 (window and icon titles), OSC 50 (font), palette and colour changes, hyperlinks;
 *   - every DCS, SOS, PM and APC string (DECRQSS and other queries, tmux pass-through, sixel, ...);
 *   - CSI sequences that make the terminal answer or act outside the screen: window manipulation
 *     and title stack (`t`), device status and attribute reports (`n`, `c`, `x`, `>q`, `$p`), and
 *     mode changes that would leave the viewer's terminal reporting the mouse, focus or pastes
 *     (`?9`, `?1000`-`?1007`, `?1015`, `?1016`, `?2004` with `h`/`l`);
 *   - changes that would outlive the replay in how the viewer's keyboard or screen behaves:
 *     keyboard protocols (xterm modifyOtherKeys `CSI > 4;2 m` and any other `m` with a `<`, `=`,
 *     `>` or `?` prefix; kitty's `CSI > 1 u` push, `CSI = 1;1 u` set, `CSI < u` pop, `CSI ? u`
 *     query) and the ANSI modes keyboard lock, insert, local echo and newline (`2h`, `4h`, `12l`,
 *     `20h`);
 *   - ESC Z (identify) and every 8-bit C1 control (the 8-bit forms of CSI are rewritten to 7-bit
 *     and filtered like them; strings are dropped).
 *
 * Streaming: a CSI sequence split across pushes is held until complete (at most 256 characters;
 * longer ones are dropped); strings are discarded as they arrive, however long.
 */

const enum St {
  Ground,
  Esc,
  EscInter,
  Csi,
  Drop,
  DropEsc,
}

const MAX_CSI = 256;
const BLOCKED_MODES = new Set([9, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1015, 1016, 2004]);
/** ANSI (non-`?`) modes, by the final that turns them away from their default: KAM, IRM, LNM; SRM. */
const BLOCKED_ANSI = { h: new Set([2, 4, 20]), l: new Set([12]) } as const;

/**
 * After a replay: ordinary attributes, a visible cursor, the main screen, normal cursor keys and
 * keypad, replace (not insert) mode, xterm modifyOtherKeys off, kitty keyboard flags popped. The
 * sanitizer already refuses what would change the last three; this undoes them even so.
 */
export const TERMINAL_RESET = '\x1b[0m\x1b[?25h\x1b[?1049l\x1b[?1l\x1b>\x1b[4l\x1b[>4;0m\x1b[<u';

export class TerminalSanitizer {
  private st: St = St.Ground;
  private seq = '';

  push(text: string): string {
    let out = '';
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.st === St.Ground) {
        if (c !== 0x1b && (c < 0x80 || c > 0x9f)) continue;
        out += text.slice(start, i);
        start = i + 1;
        if (c === 0x1b) {
          this.st = St.Esc;
          this.seq = '\x1b';
        } else if (c === 0x9b) {
          this.st = St.Csi;
          this.seq = '\x1b[';
        } else if (c === 0x90 || c === 0x9d || c === 0x98 || c === 0x9e || c === 0x9f) this.st = St.Drop;
        // any other C1 control is dropped on its own
        continue;
      }
      start = i + 1;
      out += this.step(c, text[i] as string);
    }
    if (this.st === St.Ground) out += text.slice(start);
    return out;
  }

  /** End of the stream: an unfinished sequence is dropped. */
  end(): string {
    this.st = St.Ground;
    this.seq = '';
    return '';
  }

  private step(c: number, ch: string): string {
    switch (this.st) {
      case St.Esc:
        if (c === 0x5b) {
          this.st = St.Csi;
          this.seq += ch;
        } else if (c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) {
          this.st = St.Drop;
        } else if (c >= 0x20 && c <= 0x2f) {
          this.st = St.EscInter;
          this.seq += ch;
        } else if (c === 0x1b) {
          this.seq = '\x1b';
        } else if (c < 0x20) {
          return ch; // C0 inside an escape is executed by terminals; pass it, keep the escape
        } else {
          this.st = St.Ground;
          // ESC Z asks the terminal to identify itself; a lone ST (ESC \) ends nothing.
          return c === 0x5a || c === 0x5c || c >= 0x7f ? '' : this.seq + ch;
        }
        return '';
      case St.EscInter:
        if (c >= 0x20 && c <= 0x2f) this.seq += ch;
        else if (c === 0x1b) {
          this.st = St.Esc;
          this.seq = '\x1b';
        } else if (c < 0x20) return ch;
        else {
          this.st = St.Ground;
          return c >= 0x7f ? '' : this.seq + ch;
        }
        return '';
      case St.Csi:
        if (c >= 0x40 && c <= 0x7e) {
          this.st = St.Ground;
          return allowCsi(this.seq + ch) ? this.seq + ch : '';
        }
        if (c === 0x1b) {
          this.st = St.Esc;
          this.seq = '\x1b';
        } else if (c === 0x18 || c === 0x1a) this.st = St.Ground;
        else if (c < 0x20) return ch;
        else if (c > 0x7e || (this.seq += ch).length > MAX_CSI) this.st = St.Drop;
        return '';
      case St.Drop:
        if (c === 0x07 || c === 0x9c || c === 0x18 || c === 0x1a) this.st = St.Ground;
        else if (c === 0x1b) this.st = St.DropEsc;
        return '';
      case St.DropEsc:
        if (c === 0x5c) this.st = St.Ground;
        else {
          this.st = St.Esc;
          this.seq = '\x1b';
          return this.step(c, ch);
        }
        return '';
      default:
        return '';
    }
  }
}

/** `seq` is a complete 7-bit CSI sequence. */
function allowCsi(seq: string): boolean {
  const final = seq[seq.length - 1];
  const body = seq.slice(2, -1);
  switch (final) {
    case 't':
    case 'n':
    case 'c':
    case 'x':
      return false;
    case 'q':
      return !body.startsWith('>');
    case 'p':
      return !body.includes('$');
    case 'm':
    case 'u':
      // SGR and restore-cursor have no prefix; with one they set or query keyboard protocols.
      return !/^[<=>?]/.test(body);
    case 'h':
    case 'l': {
      const blocked = body.startsWith('?') ? BLOCKED_MODES : BLOCKED_ANSI[final];
      return !(body.startsWith('?') ? body.slice(1) : body)
        .split(';')
        .some((m) => blocked.has(Number(m)));
    }
    default:
      return true;
  }
}

/** Sanitizes a whole text at once. */
export function sanitizeText(text: string): string {
  const s = new TerminalSanitizer();
  return s.push(text) + s.end();
}
