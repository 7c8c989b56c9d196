/**
 * Bash's line editor (readline) as the key guard (guard.ts) reads it: the control bytes it acts
 * on, the vi command-mode key classes, the escape sequences bound alike in vi's insert and
 * command maps, and how long an escape sequence is. Pure tables and functions, kept apart so
 * guard.ts holds only the guard's state machine.
 */

export const TAB = 0x09;
export const CTRL_E = 0x05;
export const CTRL_G = 0x07;
export const CTRL_H = 0x08;
export const CTRL_Q = 0x11;
export const CTRL_R = 0x12;
export const CTRL_U = 0x15;
export const CTRL_V = 0x16;
export const CTRL_W = 0x17;
export const CTRL_X = 0x18;
export const ESC = 0x1b;
export const DEL = 0x7f;

const codes = (s: string): Set<number> => new Set([...s].map((c) => c.charCodeAt(0)));
export const MACRO_KEYS = codes('()eE');
export const INSERT_KEYS = codes('iaAIsSCR');
export const ARG_KEYS = codes('fFtTm`');
export const FIND_KEYS = codes('fFtT');
export const MOTIONS = codes(' hl^$0wbeWBE|;,%');
/** Sequences bound alike in bash's vi insert and command maps (arrows, Home/End, Del, PgUp/PgDn, word moves, Insert). */
export const KNOWN_SEQUENCES = new Set(['[A', '[B', '[C', '[D', '[H', '[F', 'OA', 'OB', 'OC', 'OD', 'OH', 'OF', '[1;3C', '[1;3D', '[1;5C', '[1;5D', '[2~', '[3~', '[5~', '[6~', '[3;5~']);

export function isControl(b: number): boolean {
  return (b < 0x20 && b !== TAB) || b === DEL;
}

/** Length of the escape sequence at `i` (ESC included) when complete in `bytes`; -1 when cut off; 0 when none. */
export function sequenceAt(bytes: Buffer, i: number): number {
  const kind = bytes[i + 1];
  if (kind === undefined) return 0;
  if (kind === 0x4f) return i + 2 < bytes.length ? 3 : -1;
  if (kind !== 0x5b) return 0;
  for (let j = i + 2; j < bytes.length; j++) {
    const c = bytes[j] as number;
    if (c >= 0x40 && c <= 0x7e) return j - i + 1;
    if (c < 0x20 || c > 0x3f) return 0; // not CSI grammar: readline reads the bytes one by one
  }
  return -1;
}
