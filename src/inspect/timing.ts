/**
 * When the inspector (inspector.ts) may act: after Enter, when the screen has settled so the held
 * line can be read; between lines, when input queued behind a line may go on. Decisions on times
 * and signs only (no I/O, time comes in as numbers), kept apart so the state machine in
 * inspector.ts reads as transitions. Nothing here runs per keystroke.
 */
import { QUIET_MS, type Echo } from './echo.js';

/** Longest wait for the screen to settle after Enter before the line is refused. */
export const MAX_SETTLE_MS = 2_000;
/** With input queued after a release, output quiet this long also counts as "prompt is back". */
export const READY_QUIET_MS = 300;
export const POLL_MS = 5;

/**
 * How much longer a held line waits before the screen is read: the emulator has everything, the
 * echo came back and output is quiet. 0: read it now. (The MAX_SETTLE_MS limit is the caller's.)
 */
export function settleWait(now: number, caughtUp: boolean, e: Echo): number {
  if (!caughtUp) return POLL_MS;
  // Edits must echo (movement keys may print nothing: Ctrl-E at the end of the line).
  if (e.awaiting && e.unechoedEdit && now - e.awaitingSince < e.echoWait) return Math.min(QUIET_MS, e.echoWait - (now - e.awaitingSince));
  const quiet = e.quietFor(now);
  return quiet < QUIET_MS ? QUIET_MS - quiet : 0;
}

/**
 * What queued input waits for: `prompt`, a line went on and its prompt must be back; `settle`, a
 * line was denied and the shell draws a fresh prompt; `caught-up`, the screen must hold everything
 * printed before the next key (the prompt is learned from it).
 */
export type WaitKind = 'prompt' | 'settle' | 'caught-up';

/** One wait between lines at a time, and the signs that the prompt is back. */
export class PromptWait {
  private kind: WaitKind = 'settle';
  private since = 0;
  private pasteOns = 0;
  private pasteOnsAtWait = 0;

  /** readline switched bracketed paste on (it reads a line again). */
  pasteModeOn(): void {
    this.pasteOns++;
  }

  /** A wait starts; returns how long until the first check. */
  begin(kind: WaitKind, now: number): number {
    this.kind = kind;
    this.since = now;
    this.pasteOnsAtWait = this.pasteOns;
    return kind === 'caught-up' ? 0 : QUIET_MS;
  }

  /**
   * Once the screen caught up: may queued input go on? `quiet`: ms since the last keystroke or
   * output; `atPrompt`: the shell marked its prompt.
   */
  over(now: number, quiet: number, atPrompt: boolean): boolean {
    if (this.kind === 'caught-up') return true;
    if (this.kind === 'settle') return quiet >= QUIET_MS || now - this.since > 500;
    // The prompt is back: the shell marked it, or readline switched bracketed paste on again.
    return (quiet >= QUIET_MS && (atPrompt || this.pasteOns > this.pasteOnsAtWait)) || quiet >= READY_QUIET_MS;
  }
}
