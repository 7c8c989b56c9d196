/**
 * What the inspector is given (inspector.ts): the screen it reads, and the effects it may have on
 * the session. src/gateway/inspection.ts implements these on the relay, the session and the
 * review queue; unit tests implement them with fakes.
 */
import type { Clock } from '../domain/clock.js';
import type { Decision } from '../policy/index.js';
import type { Rows } from './line.js';
import type { ReviewOutcome } from './review.js';

/** The screen as the inspector uses it (screen.ts; a fake in unit tests). */
export interface ScreenPort extends Rows {
  /** Everything fed so far has been parsed. */
  readonly caughtUp: boolean;
  /** Output is too heavy to be fed to the emulator right now. */
  readonly flood: boolean;
  whenCaughtUp(fn: () => void): void;
  readonly altActive: boolean;
  /** The target asked for bracketed paste: readline is reading a line. */
  readonly bracketedPaste: boolean;
  /** False after a flood, until the line was redrawn or the shell marked its prompt. */
  known: boolean;
}

export interface ReviewResult {
  readonly outcome: ReviewOutcome;
  readonly by: string | null;
  readonly note: string | null;
}

export interface InspectorPorts {
  readonly clock: Clock;
  readonly screen: ScreenPort;
  /** Sends bytes to the target; `record`: also into the recording as input. */
  upstream(bytes: Buffer, record: boolean): void;
  /** Writes to the responder's terminal only. */
  client(text: string): void;
  judge(line: string): Decision;
  /** Records a judged command (event, command index row, recording marker). */
  judged(command: string, decision: Decision): void;
  /** Holds a command for a watcher's decision (writes command.review; resolves on the outcome). */
  review(command: string, decision: Decision): Promise<ReviewResult>;
  /** A command the shell ran finished (shell-integration marks). */
  finished(command: string, exitCode: number | null, durationMs: number): void;
  anomaly(detector: string, evidence: Record<string, unknown>): void;
  /**
   * Inspection was bypassed (the shell ran a line the broker never released): ends the session
   * (`anomaly.detected` with action `kill`), showing `message` to the responder.
   */
  breach(detector: string, evidence: Record<string, unknown>, message: string): void;
  readonly reviewTimeoutMs: number;
}
