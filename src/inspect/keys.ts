/**
 * The responder's keystrokes, as the inspector needs to see them: where a chunk holds a byte that
 * submits a line (Enter), abandons one (Ctrl-C) or opens a bracketed paste. Everything else is
 * forwarded (through guard.ts, which refuses the line editor's other ways to run or hide a line),
 * so the target's own line editor does editing, history and completion. Pure; no allocation on
 * the per-keystroke path.
 *
 * Bytes that make readline accept a line: CR (Enter, Ctrl-M), LF (Ctrl-J) and Ctrl-O
 * (operate-and-get-next). All three are held and judged like Enter. Any of them anywhere in a
 * chunk counts, also inside what looks like an escape sequence or after a quoted-insert key
 * (Ctrl-V): the guard first cancels whatever would take the byte as an argument, so it always
 * acts as an Enter. A quoted line break is therefore never inserted into a line: the screen would
 * show it as two lines and the broker would read only the last one.
 */

export const CR = 0x0d;
export const LF = 0x0a;
export const CTRL_C = 0x03;
export const CTRL_O = 0x0f;
export const ESC = 0x1b;

/** Sent by a terminal around pasted text when the target asked for bracketed paste (DECSET 2004). */
export const PASTE_START = Buffer.from('\x1b[200~');
export const PASTE_END = Buffer.from('\x1b[201~');

/** What the inspector sends the target to abandon a line: Ctrl-C (also in vi mode, PS2, i-search). */
export const ABANDON = Buffer.from([CTRL_C]);
/**
 * Makes readline redraw the prompt and line in place (reverse-i-search, then abort), in emacs and
 * vi mode alike, without changing the line or running anything. Plain Ctrl-L is not bound in vi
 * insert mode (it would insert ^L), so it is not used.
 */
export const REDRAW = Buffer.from([0x12, 0x07]);
export type Special = 'enter' | 'ctrl-c' | 'paste';

/** The index of the first byte in `chunk[from..]` the inspector must act on, or -1. */
export function nextSpecial(chunk: Uint8Array, from: number): number {
  for (let i = from; i < chunk.length; i++) {
    const b = chunk[i] as number;
    if (b === CR || b === LF || b === CTRL_O || b === CTRL_C) return i;
    if (b === ESC && startsWith(chunk, i, PASTE_START)) return i;
  }
  return -1;
}

/** What the byte at `i` (found by nextSpecial) means. */
export function specialAt(chunk: Uint8Array, i: number): Special {
  const b = chunk[i];
  if (b === CTRL_C) return 'ctrl-c';
  if (b === ESC) return 'paste';
  return 'enter';
}

export function startsWith(chunk: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > chunk.length) return false;
  for (let j = 0; j < prefix.length; j++) if (chunk[at + j] !== prefix[j]) return false;
  return true;
}

/**
 * True when the chunk may change the line (typing, deleting, history, completion), false when it
 * only moves the cursor (Ctrl-A/B/E/F, arrows left/right, Home/End, word moves, a lone ESC). A
 * moved cursor may produce no output at all (Ctrl-E at the end of the line), so only edits are
 * expected to echo.
 */
export function isEdit(chunk: Uint8Array): boolean {
  let i = 0;
  while (i < chunk.length) {
    const b = chunk[i] as number;
    if (b === 0x01 || b === 0x02 || b === 0x05 || b === 0x06) {
      i++;
      continue;
    }
    if (b !== ESC) return true;
    const n = movementSequence(chunk, i);
    if (n === 0) return true;
    i += n;
  }
  return false;
}

/** Length of a cursor-movement escape sequence at `i`, or 0. */
function movementSequence(c: Uint8Array, i: number): number {
  const next = c[i + 1];
  if (next === undefined) return 1; // a lone ESC: vi command mode, or the start of a meta key
  if (next === 0x62 || next === 0x66) return 2; // ESC b, ESC f: word moves
  if (next === 0x4f) return isMove(c[i + 2]) ? 3 : 0; // SS3 C/D/H/F
  if (next !== 0x5b) return 0;
  // CSI [params] final: C D H F, or 1~ 4~ 7~ 8~ (Home/End)
  let j = i + 2;
  while (j < c.length && ((c[j] as number) >= 0x30 && (c[j] as number) <= 0x3f)) j++;
  const final = c[j];
  if (final === undefined) return 0;
  if (isMove(final)) return j - i + 1;
  if (final === 0x7e) {
    const params = String.fromCharCode(...c.subarray(i + 2, j));
    return params === '1' || params === '4' || params === '7' || params === '8' ? j - i + 1 : 0;
  }
  return 0;
}

function isMove(b: number | undefined): boolean {
  return b === 0x43 || b === 0x44 || b === 0x48 || b === 0x46;
}

/**
 * Splits pasted text into lines. Null when it holds control characters other than tab and line
 * ends, or an escape: pasted text is taken literally by readline in bracketed mode, and the screen
 * would show `^X` where the line holds a control byte, so such a paste is refused whole.
 */
export function pasteLines(text: string): string[] | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== CR && c !== LF) || c === 0x7f || (c >= 0x80 && c < 0xa0)) return null;
  }
  return text.split(/\r\n|\r|\n/);
}
