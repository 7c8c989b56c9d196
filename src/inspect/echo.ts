/**
 * Echo timing: has the target echoed what was typed, how long does an echo take, and did output
 * arrive that is not an echo (a background job printing into the line being typed)?
 *
 * Keystrokes are forwarded at once; their echo comes back one round trip later. The inspector
 * reads the screen only when the echo of everything forwarded has arrived and the output has
 * been quiet for a moment. The round trip is learned from the keystrokes themselves (a slow,
 * decaying maximum), so a target across an ocean gets longer windows than one on the same rack.
 *
 * Output that arrives long after the last keystroke (outside the echo window) while a line is
 * being typed is foreign: it garbles the screen line (readline does not redraw for it), so the
 * line is marked dirty and redrawn before it is read. Foreign output timed to land inside an echo
 * window is not caught: a target process can always draw on the screen (see the README, "What command inspection can and cannot do").
 */

/** Quiet time after the last output or keystroke before the screen counts as settled. */
export const QUIET_MS = 12;

export class Echo {
  lastInputAt = Number.NEGATIVE_INFINITY;
  lastOutputAt = Number.NEGATIVE_INFINITY;
  /** Input was forwarded and no output has come back since. */
  awaiting = false;
  awaitingSince = 0;
  /** Among the awaited keystrokes, some may change the line (so an echo must come). */
  unechoedEdit = false;
  /** Output outside any echo window arrived while a line was being typed. */
  dirty = false;
  /** Estimated echo round trip, ms. */
  rtt = 50;
  private sampling = false;

  /** Keystrokes went to the target; `sample`: their echo time teaches the round trip. */
  input(now: number, edit: boolean, sample: boolean): void {
    if (!this.awaiting) {
      this.awaiting = true;
      this.awaitingSince = now;
      this.sampling = sample;
    }
    if (edit) this.unechoedEdit = true;
    this.lastInputAt = now;
  }

  /** An output chunk arrived; `typing`: a line is being typed or judged (noise matters). */
  output(now: number, typing: boolean): void {
    if (this.awaiting) {
      if (this.sampling) {
        const sample = now - this.awaitingSince;
        this.rtt = sample > this.rtt ? Math.min(sample, 2_000) : this.rtt * 0.9 + sample * 0.1;
      }
      this.awaiting = false;
      this.unechoedEdit = false;
    } else if (typing && now - this.lastInputAt > this.window) {
      this.dirty = true;
    }
    this.lastOutputAt = now;
  }

  /** A new line starts: forget noise and pending echoes of the previous one. */
  reset(): void {
    this.dirty = false;
    this.unechoedEdit = false;
  }

  /** After this long past a keystroke, output is no longer taken for its echo. */
  get window(): number {
    return Math.min(1_000, Math.max(100, 2 * this.rtt + 30));
  }

  /**
   * How long to wait for the echo of edits before deciding it will not come (then the line is
   * refused). Generous: it is only waited out when an echo is late (a loaded target or link) or
   * missing (echo off), never in the common case.
   */
  get echoWait(): number {
    return Math.min(3_000, Math.max(750, 4 * this.rtt + 50));
  }

  /** Milliseconds since the last keystroke or output. */
  quietFor(now: number): number {
    return now - Math.max(this.lastOutputAt, this.lastInputAt);
  }
}
