/**
 * What shell-integration marks (integration.ts) say about the commands: a released command starts
 * running at C and finishes at D with its exit code; A and B mean the shell is back at its prompt
 * (B: the prompt is drawn). Marks without the session's nonce are forged (reported once,
 * otherwise ignored).
 *
 * A C mark is also a check on the broker: the shell only runs a command line it read up to an
 * Enter, and every Enter of an inspected session is one the broker released. A C that no released
 * Enter accounts for means a line ran past inspection (a key binding, a macro from ~/.inputrc):
 * `unjudged`, and the session is ended. Enters released while no prompt was up (type-ahead during
 * a command, answers to a program, lines of a nested shell) may or may not reach the shell, so
 * they stay counted across the next prompt until commands use them up; until then the check has
 * a gap. It is a net under the key guard (guard.ts), not the guard itself.
 */
import { parseMark } from './prompt.js';

export type MarkEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'forged' }
  | { readonly kind: 'finished'; readonly command: string; readonly exitCode: number | null; readonly durationMs: number }
  /** The shell's prompt is drawn and the cursor is right after it. */
  | { readonly kind: 'prompt' }
  /** The shell is back: its prompt is about to be drawn (A). */
  | { readonly kind: 'prompt-start' }
  /** The shell started a command line no released Enter accounts for. */
  | { readonly kind: 'unjudged' };

const NONE: MarkEffect = { kind: 'none' };

export class CommandMarks {
  /** The nonce when integration is active, else null (then marks mean nothing). */
  nonce: string | null = null;
  /** A B mark came after the last C: the shell itself is reading the line. */
  atPrompt = false;
  private released: string | null = null;
  /** The released command was typed ahead (no prompt up): the next B is its shell coming back to read it. */
  private releasedAhead = false;
  private running: { command: string; since: number } | null = null;
  /** Released Enters the shell may still read a command line up to. */
  private credits = 0;
  /** Of those, Enters released while no prompt was up. */
  private ahead = 0;

  /** An Enter was sent on; `command` when it runs an allowed command (its C mark comes next). */
  release(command: string | null): void {
    this.credits++;
    const ahead = !this.atPrompt;
    if (ahead) this.ahead++;
    this.atPrompt = false;
    if (command !== null) {
      this.released = command;
      this.releasedAhead = ahead;
    }
  }

  mark(payload: string, now: number): MarkEffect {
    if (this.nonce === null) return NONE;
    const m = parseMark(payload, this.nonce);
    if (m === null) return NONE;
    if (m === 'forged') return { kind: 'forged' };
    switch (m.kind) {
      case 'C': {
        const judged = this.credits > 0;
        this.credits = Math.max(0, this.credits - 1);
        this.ahead = Math.max(0, this.ahead - 1);
        if (this.released !== null) this.running = { command: this.released, since: now };
        this.released = null;
        this.atPrompt = false;
        return judged ? NONE : { kind: 'unjudged' };
      }
      case 'D': {
        const r = this.running;
        this.running = null;
        return r === null ? NONE : { kind: 'finished', command: r.command, exitCode: m.exitCode, durationMs: now - r.since };
      }
      case 'B':
        this.atPrompt = true;
        // An Enter released at the last prompt was read there (a command, or an empty line). One
        // typed ahead is read now, after this prompt: its command still runs next (C, then D).
        if (!this.releasedAhead) this.released = null;
        this.releasedAhead = false;
        // Enters released at the last prompt were read (a command, or an empty line); type-ahead may not have been.
        this.credits = this.ahead;
        return { kind: 'prompt' };
      case 'A':
        return { kind: 'prompt-start' };
    }
  }
}
