/**
 * Key sequences of bash's line editor (readline) that run, expand or hide a command line without
 * an Enter the broker holds, refused before they reach the target. Checked against bash 5.2's
 * default keymaps (`bind -m emacs|vi-command|vi-insert -p`):
 *
 *   emacs   Ctrl-X ( ) e E      keyboard macros: replay recorded keys, Enter included
 *           Ctrl-X Ctrl-E       edit the line in $EDITOR, run what comes back
 *           Ctrl-X Ctrl-R       re-read ~/.inputrc (which may bind a key to a line and a newline)
 *           Esc #               insert-comment: accepts the line; with a count it uncomments it
 *           Esc Ctrl-E          shell-expand-line: runs the line's $(...) while expanding it
 *   vi cmd  v                   edit and execute, as Ctrl-X Ctrl-E
 *           #                   insert-comment, as Esc #
 *           r + control key     `r` Ctrl-J replaces a character with a line break
 *   all     Ctrl-V, Ctrl-Q, Insert + control key: quoted insert; Ctrl-V Ctrl-J puts a line
 *                               break into the line, which the screen shows as two lines
 *
 * Expansions that run nothing stay allowed (Esc ^ history, Ctrl-X * glob, Esc & tilde, Tab).
 *
 * The guard knows neither the editing mode (emacs or vi) nor, in vi, whether the editor is in
 * insert or command mode. It follows both readings of the keys and refuses what either makes
 * dangerous. The vi reading leaves insert mode at Esc and re-enters it only at a key that does
 * so (i a A I s S C R, c + motion); escape sequences split across chunks, which readline may read
 * either way, leave it "lost" (as command mode, for good) until the line ends. The cost falls on
 * emacs users, rarely: after an Alt key, a `v` or `#` on the same line is refused. The `v`/`#`
 * checks are off (`viChecks`) when shell integration has removed those bindings.
 *
 * Keys that would take an Enter, Ctrl-C or paste as their argument (a quoted insert, vi's `r`,
 * `f`, an operator, a search, a pending Esc or Ctrl-X) are cancelled first (`settle`), so those
 * keys always act as themselves. Pure; the per-keystroke path allocates nothing.
 *
 * The byte codes and key tables are in readline-keymap.ts, the refusal texts in guard-refusals.ts.
 */

import { WHY, type Refusal } from './guard-refusals.js';
import {
  ARG_KEYS, CTRL_E, CTRL_G, CTRL_H, CTRL_Q, CTRL_R, CTRL_U, CTRL_V, CTRL_W, CTRL_X, DEL, ESC,
  FIND_KEYS, INSERT_KEYS, isControl, KNOWN_SEQUENCES, MACRO_KEYS, MOTIONS, sequenceAt,
} from './readline-keymap.js';

/** Aborts a pending key sequence (Ctrl-X, Esc; vi command mode): the bell, nothing changes. */
export const ABORT = Buffer.from([CTRL_G]);
/** Completes a pending quoted insert harmlessly: a space, taken literally, then deleted. */
export const FINISH_QUOTE = Buffer.from([0x20, DEL]);
/** Cancels what a vi key waits for (`r`, `f`, an operator, a search): Esc, then Ctrl-G. */
export const CANCEL_ARG = Buffer.from([ESC, CTRL_G]);

export interface GuardSink {
  /** Sends keys on; `typed`: the responder typed them (not added by the guard). */
  send(bytes: Buffer, typed: boolean): void;
  refused(key: string, why: string): void;
}

type Vi =
  | 'insert'
  | 'command'
  /** The next byte is an argument (`f`, `t`, `m`, ...), then command mode; `op-c-arg`: then insert. */
  | 'arg'
  | 'op-c-arg'
  /** `r`: the next byte replaces a character. */
  | 'replace'
  /** `d`/`y` (`op`) or `c` (`op-c`) waiting for a motion. */
  | 'op'
  | 'op-c'
  | 'search'
  /** Unknown (a split escape sequence): treated as command mode until the line ends. */
  | 'lost';
type Esc = 'none' | 'esc' | 'csi' | 'ss3';

export class KeyGuard {
  /** vi command mode's `v` and `#` are refused (off when shell integration unbound them). */
  viChecks = true;
  // The emacs reading.
  private esc: Esc = 'none';
  private seq = '';
  private ctrlX = false;
  private quoted = false;
  // The vi reading.
  private vi: Vi = 'insert';
  /** A Ctrl-V or Ctrl-Q in the vi reading (quoted insert in both vi maps): a control key next is refused. */
  private viQuoted = false;
  /** Bytes of a known escape sequence still to come in this chunk (they change no mode). */
  private skip = 0;
  /** The last chunk ended with Esc: a chunk starting with [ or O may continue it. */
  private escAtEnd = false;
  /** A count was typed after an operator (so `0` is part of it, not a motion). */
  private opCount = false;
  /** Characters in the vi search string (Backspace on an empty one leaves the search). */
  private searchLen = 0;

  /** A paste is read as text (not as keys): the vi reading is in insert mode, or `v`/`#` are unbound. */
  get pastable(): boolean {
    return this.vi === 'insert' || !this.viChecks;
  }

  /** A new line starts (an Enter was accepted, the line was abandoned, a fresh prompt). */
  reset(): void {
    this.esc = 'none';
    this.ctrlX = false;
    this.quoted = false;
    this.vi = 'insert';
    this.viQuoted = false;
    this.skip = 0;
    this.escAtEnd = false;
  }

  /** Before an Enter, Ctrl-C or paste start: cancels whatever would take that key as an argument. */
  settle(sink: GuardSink): void {
    if (this.quoted || this.viQuoted || this.vi === 'lost') sink.send(FINISH_QUOTE, false);
    // Plain command mode needs nothing (Enter accepts there too): no bell after every Alt key.
    if (this.vi !== 'insert' && this.vi !== 'command') sink.send(CANCEL_ARG, false);
    else if (this.esc !== 'none' || this.ctrlX) sink.send(ABORT, false);
    this.quoted = false;
    this.viQuoted = false;
    this.esc = 'none';
    this.ctrlX = false;
    this.escAtEnd = false;
    if (this.vi !== 'insert' && this.vi !== 'lost') this.vi = 'command';
  }

  /** Scans keys about to be sent (no Enter, Ctrl-C or paste start among them); sends what may go. */
  pass(bytes: Buffer, sink: GuardSink): void {
    if (this.escAtEnd && (bytes[0] === 0x5b || bytes[0] === 0x4f)) this.vi = 'lost';
    if (this.esc === 'csi' || this.esc === 'ss3') this.vi = 'lost';
    this.escAtEnd = false;
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if ((this.quoted || this.viQuoted) && isControl(b)) {
        // Finish the quote with a harmless character, then the key acts as itself.
        if (i > from) sink.send(bytes.subarray(from, i), true);
        from = i;
        sink.send(FINISH_QUOTE, false);
        this.quoted = false;
        this.viQuoted = false;
        sink.refused('quoted insert', WHY.quote);
      }
      const pending = this.esc !== 'none' || this.ctrlX;
      const e = this.emacs(b);
      const v = this.viKey(b, bytes, i);
      const refusal = e ?? (v === null ? null : { ...v, then: v.then ?? (pending ? ABORT : null) });
      if (refusal === null) continue;
      if (i > from) sink.send(bytes.subarray(from, i), true);
      from = i + 1;
      if (refusal.then !== null) sink.send(refusal.then, false);
      // The byte never went: whatever prefix it would have completed was aborted with it.
      this.esc = 'none';
      this.ctrlX = false;
      sink.refused(refusal.key, refusal.why);
    }
    if (from === 0) sink.send(bytes, true);
    else if (from < bytes.length) sink.send(bytes.subarray(from), true);
  }

  /** The emacs reading of one byte. */
  private emacs(b: number): Refusal | null {
    if (this.quoted) {
      this.quoted = false;
      return null;
    }
    switch (this.esc) {
      case 'esc':
        if (b === 0x5b || b === 0x4f) {
          this.esc = b === 0x5b ? 'csi' : 'ss3';
          this.seq = String.fromCharCode(b);
          return null;
        }
        if (b === ESC) return null; // Esc Esc: still a prefix
        this.esc = 'none';
        if (b === 0x23) return { key: 'Esc #', why: WHY.comment, then: ABORT };
        if (b === CTRL_E) return { key: 'Esc Ctrl-E', why: WHY.expand, then: ABORT };
        return null;
      case 'csi':
      case 'ss3':
        if (this.seq.length < 12) this.seq += String.fromCharCode(b);
        if (this.esc === 'csi' && (b < 0x40 || b > 0x7e)) {
          if (b >= 0x20 && b <= 0x3f) return null;
          this.esc = 'none'; // not a sequence after all: the byte is a key of its own
          break;
        }
        this.esc = 'none';
        if (this.seq === '[2~') this.quoted = true; // Insert: quoted-insert
        if (this.seq === '[200~') return { key: 'paste start', why: WHY.paste, then: ABORT };
        return null;
      case 'none':
        break;
    }
    if (this.ctrlX) {
      this.ctrlX = false;
      if (MACRO_KEYS.has(b)) return { key: `Ctrl-X ${String.fromCharCode(b)}`, why: WHY.macro, then: ABORT };
      if (b === CTRL_E) return { key: 'Ctrl-X Ctrl-E', why: WHY.edit, then: ABORT };
      if (b === CTRL_R) return { key: 'Ctrl-X Ctrl-R', why: WHY.inputrc, then: ABORT };
      return null;
    }
    if (b === ESC) {
      this.esc = 'esc';
      this.seq = '';
    } else if (b === CTRL_X) this.ctrlX = true;
    else if (b === CTRL_V || b === CTRL_Q) this.quoted = true;
    return null;
  }

  /** The vi reading of one byte. */
  private viKey(b: number, bytes: Buffer, i: number): Refusal | null {
    if (this.skip > 0) {
      this.skip--;
      return null;
    }
    // A byte after Ctrl-V is read as a key all the same: where readline quotes it, that errs on the safe side.
    this.viQuoted = false;
    switch (this.vi) {
      case 'replace':
        this.vi = 'command';
        return isControl(b) && b !== ESC ? { key: 'vi r', why: WHY.replace, then: CANCEL_ARG } : null;
      case 'arg':
      case 'op-c-arg':
        this.vi = this.vi === 'arg' ? 'command' : 'insert';
        return null;
      case 'search':
        return this.search(b);
      default:
        break;
    }
    if (b === CTRL_V || b === CTRL_Q) this.viQuoted = true;
    if (b === ESC) {
      if (this.vi === 'lost') return null;
      const n = sequenceAt(bytes, i);
      if (n > 0 && KNOWN_SEQUENCES.has(bytes.subarray(i + 1, i + n).toString('latin1'))) {
        this.skip = n - 1; // read whole by readline: no mode change
        return null;
      }
      this.vi = n < 0 ? 'lost' : 'command';
      this.escAtEnd = i === bytes.length - 1;
      return null;
    }
    switch (this.vi) {
      case 'insert':
        return null;
      case 'op':
      case 'op-c':
        return this.motion(b);
      default:
        return this.command(b);
    }
  }

  private command(b: number): Refusal | null {
    if (this.viChecks && b === 0x76) return { key: 'v', why: WHY.viEdit, then: null };
    if (this.viChecks && b === 0x23) return { key: '#', why: WHY.viComment, then: null };
    if (this.vi === 'lost') return null;
    this.opCount = false;
    if (INSERT_KEYS.has(b)) this.vi = 'insert';
    else if (b === 0x63) this.vi = 'op-c';
    else if (b === 0x64 || b === 0x79) this.vi = 'op';
    else if (b === 0x72) this.vi = 'replace';
    else if (ARG_KEYS.has(b)) this.vi = 'arg';
    else if (b === 0x2f || b === 0x3f) {
      this.vi = 'search';
      this.searchLen = 0;
    }
    return null;
  }

  /** After d, y or c: a count, then a motion (c + motion enters insert mode); anything else cancels. */
  private motion(b: number): Refusal | null {
    const c = this.vi === 'op-c';
    if ((b >= 0x31 && b <= 0x39) || (b === 0x30 && this.opCount)) {
      this.opCount = true;
      return null;
    }
    this.opCount = false;
    if (c && b === 0x63) this.vi = 'insert';
    else if (FIND_KEYS.has(b)) this.vi = c ? 'op-c-arg' : 'arg';
    else if (c && MOTIONS.has(b)) this.vi = 'insert';
    else this.vi = 'command';
    return null;
  }

  /** A vi search string is being typed (`/`, `?`): keys are text until Enter, Ctrl-G or an emptying Backspace. */
  private search(b: number): Refusal | null {
    if (b === CTRL_G) this.vi = 'command';
    else if (b === DEL || b === CTRL_H) {
      if (this.searchLen === 0) this.vi = 'command';
      else this.searchLen--;
    } else if (b === CTRL_W || b === CTRL_U) this.vi = 'lost'; // how much is left is not followed
    else if (b < 0x80 || b >= 0xc0) this.searchLen++; // a character (UTF-8 continuation bytes are not)
    return null;
  }
}
