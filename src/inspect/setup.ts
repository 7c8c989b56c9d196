/**
 * Installs shell integration (integration.ts) once the shell shows its first prompt: waits for the
 * prompt (readline switched bracketed paste on and output went quiet, or output went quiet for a
 * while, or at most SETUP_WAIT_MS), then types the setup line unrecorded while hiding the output
 * up to the sentinel. No sentinel within SETUP_TIMEOUT_MS: output is shown again, the responder is
 * told, and inspection goes on from the screen alone.
 */
import type { Clock, Timer } from '../domain/clock.js';
import { MARKING_SHELLS, newNonce, sentinel, setupLine, SetupDiverter } from './integration.js';

export const SETUP_WAIT_MS = 3_000;
export const SETUP_TIMEOUT_MS = 5_000;

export interface SetupPorts {
  readonly clock: Clock;
  /** Types into the shell, unrecorded. */
  type(bytes: Buffer): void;
  /** Installs the output diverter (null removes it). */
  divert(fn: ((chunk: Buffer) => Buffer | null) | null): void;
  /** Output hidden from the responder still goes to the emulator. */
  hidden(chunk: Buffer): void;
  client(text: string): void;
  /** Setup ended: the nonce when the shell (bash, zsh) prints marks now, null when not. */
  done(nonce: string | null): void;
}

export class ShellSetup {
  private phase: 'prompt' | 'installing' | 'done' = 'prompt';
  private readonly started: number;
  private lastOutput = Number.NEGATIVE_INFINITY;
  private sawOutput = false;
  private pasteOn = false;
  private timer: Timer | null = null;
  private readonly nonce = newNonce();

  constructor(private readonly p: SetupPorts) {
    this.started = p.clock.now();
    this.timer = p.clock.setTimer(20, this.check);
  }

  /** Output reached the responder (before the setup line was typed). */
  output(): void {
    this.lastOutput = this.p.clock.now();
    this.sawOutput = true;
  }

  pasteModeOn(): void {
    this.pasteOn = true;
  }

  private readonly check = (): void => {
    this.timer = null;
    if (this.phase !== 'prompt') return;
    const now = this.p.clock.now();
    const quiet = now - this.lastOutput;
    if ((this.pasteOn && quiet >= 30) || (this.sawOutput && quiet >= 250) || now - this.started >= SETUP_WAIT_MS) this.install();
    else this.timer = this.p.clock.setTimer(20, this.check);
  };

  private install(): void {
    this.phase = 'installing';
    const diverter = new SetupDiverter(sentinel(this.nonce));
    this.p.divert((chunk) => {
      const [hidden, rest] = diverter.split(chunk);
      if (hidden !== null) this.p.hidden(hidden);
      if (diverter.finished && this.phase === 'installing') this.finish(diverter.kind !== null && MARKING_SHELLS.has(diverter.kind) ? this.nonce : null);
      if (diverter.passing) this.p.divert(null);
      return rest;
    });
    this.p.type(Buffer.from(`${setupLine(this.nonce)}\r`));
    this.timer = this.p.clock.setTimer(SETUP_TIMEOUT_MS, () => {
      if (this.phase !== 'installing') return;
      this.p.divert(null);
      this.p.client('\r\n[gatehouse] shell integration did not answer; commands are still inspected from the screen\r\n');
      this.finish(null);
    });
  }

  private finish(nonce: string | null): void {
    this.phase = 'done';
    this.timer?.cancel();
    this.timer = null;
    this.p.done(nonce);
  }

  close(): void {
    this.phase = 'done';
    this.timer?.cancel();
    this.p.divert(null);
  }
}
