/**
 * What shell-integration marks (integration.ts) say about the commands: a released command starts
 * running at C and finishes at D with its exit code; B means the shell's own prompt is on the
 * screen. Marks without the session's nonce are forged (reported once, otherwise ignored).
 */
import { parseMark } from './prompt.js';

export type MarkEffect =
  | { readonly kind: 'none' }
  | { readonly kind: 'forged' }
  | { readonly kind: 'finished'; readonly command: string; readonly exitCode: number | null; readonly durationMs: number }
  /** The shell's prompt is drawn and the cursor is right after it. */
  | { readonly kind: 'prompt' };

const NONE: MarkEffect = { kind: 'none' };

export class CommandMarks {
  /** The nonce when integration is active, else null (then marks mean nothing). */
  nonce: string | null = null;
  /** A B mark came after the last C: the shell itself is reading the line. */
  atPrompt = false;
  private released: string | null = null;
  private running: { command: string; since: number } | null = null;

  /** An allowed command was sent on (its C mark, if any, comes next). */
  release(command: string | null): void {
    this.atPrompt = false;
    if (command !== null) this.released = command;
  }

  mark(payload: string, now: number): MarkEffect {
    if (this.nonce === null) return NONE;
    const m = parseMark(payload, this.nonce);
    if (m === null) return NONE;
    if (m === 'forged') return { kind: 'forged' };
    switch (m.kind) {
      case 'C':
        if (this.released !== null) this.running = { command: this.released, since: now };
        this.released = null;
        this.atPrompt = false;
        return NONE;
      case 'D': {
        const r = this.running;
        this.running = null;
        return r === null ? NONE : { kind: 'finished', command: r.command, exitCode: m.exitCode, durationMs: now - r.since };
      }
      case 'B':
        this.atPrompt = true;
        this.released = null;
        return { kind: 'prompt' };
      default:
        return NONE;
    }
  }
}
