/**
 * The interactive inspector of one session: a state machine between the responder's keystrokes
 * and the target. Keystrokes go through at once (the target's line editor does editing, history
 * and completion); Enter is held until the line is read off the emulated screen and judged
 * (decide.ts).
 *
 *   setup ─► idle ─(a key)─► typing ─(Enter)─► holding ─(settled, decided)─┬─ allow ─► release
 *                                                                         ├─ deny ──► Ctrl-C
 *                                                                         └─ review ─► reviewing
 *   with input queued after a release, or after a deny: waiting (prompt back) ─► idle
 *   idle ─(alternate screen, after an allowed full-screen program)─► fullscreen ─(back)─► idle
 *   any ─(the shell ran a line the broker never released)─► closed (the session is ended)
 *
 * - Denying drops the Enter, abandons the line on the target with Ctrl-C (works in emacs and vi
 *   mode, at PS2, in i-search; runs nothing; the shell draws a fresh prompt), drops what was
 *   queued after it, and tells the responder on their terminal only.
 * - Pasted lines are judged one by one, each once the prompt is back. Keys typed while a line
 *   waits for review are dropped; Ctrl-C abandons a held line, also one waiting for review.
 * - A password prompt (password-like prompt, readline not reading, not at the shell's own
 *   prompt) turns input recording off for the line; its Enter goes unjudged only if the screen
 *   shows nothing after the prompt.
 * - Keys go through the guard (guard.ts), which refuses the line editor's other ways to run or
 *   hide a line (macros, insert-comment, shell-expand-line, quoted line breaks, vi `v`/`#`).
 * - With shell integration, a command the shell starts that no released Enter accounts for
 *   (marks.ts) ends the session: something ran a line past inspection.
 *
 * The per-keystroke path (typing, queue empty) allocates nothing: scan, forward, note the time.
 * When the screen has settled and when the prompt is back are decided in timing.ts.
 */
import type { Timer } from '../domain/clock.js';
import { formatDecision, type Decision } from '../policy/index.js';
import { decideLine, refusal, shown, type Action } from './decide.js';
import { Echo, QUIET_MS } from './echo.js';
import { fullScreenProgram, pastesItself } from './fullscreen.js';
import { KeyGuard, type GuardSink } from './guard.js';
import { ABANDON, CR, CTRL_C, LF, PASTE_START, REDRAW, isEdit, nextSpecial, specialAt } from './keys.js';
import { cursorLine } from './line.js';
import { CommandMarks } from './marks.js';
import { PasteCollector } from './paste.js';
import { HeldForReview } from './held.js';
import type { InspectorPorts } from './ports.js';
import { looksLikePasswordPrompt, Prompts } from './prompt.js';
import { InputQueue } from './queue.js';
import { MAX_SETTLE_MS, POLL_MS, PromptWait, settleWait, type WaitKind } from './timing.js';

export type { InspectorPorts, ScreenPort } from './ports.js';
export { MAX_SETTLE_MS, READY_QUIET_MS } from './timing.js';

type State = 'setup' | 'idle' | 'typing' | 'holding' | 'reviewing' | 'waiting' | 'fullscreen' | 'closed';

const MAX_REDRAWS = 2;

export class Inspector {
  private state: State;
  private readonly echo = new Echo();
  private readonly prompts = new Prompts();
  private readonly queue = new InputQueue();
  private readonly paste = new PasteCollector();
  private readonly marks = new CommandMarks();
  private held: Buffer | null = null;
  private holdStart = 0;
  private redraws = 0;
  private timer: Timer | null = null;
  /** The prompt learned for the current line, or null. */
  private current: string | null = null;
  private secret = false;
  private continuation: string | null = null;
  private readonly guard = new KeyGuard();
  private readonly sink: GuardSink = {
    send: (bytes, typed) => this.send(bytes, typed),
    refused: (key, why) => {
      this.ports.client(`\r\n[gatehouse] refused ${key}: ${why}\r\n`);
      this.report('refused-key', { key, why }, key);
    },
  };
  private readonly waiting = new PromptWait();
  /** The line just allowed runs this full-screen program: the next alternate screen is its own. */
  private nextProgram: string | null = null;
  /** The full-screen program inspection stepped aside for. */
  private program: string | null = null;
  private readonly reported = new Set<string>();
  private readonly review: HeldForReview;

  constructor(private readonly ports: InspectorPorts, setup: boolean) {
    this.state = setup ? 'setup' : 'idle';
    this.review = new HeldForReview(ports, {
      approved: (command, decision) => {
        if (this.state !== 'reviewing') return;
        this.continuation = null;
        this.release(command);
        this.ports.judged(command, decision);
      },
      refused: (command, decision, message) => {
        if (this.state === 'reviewing') this.deny(command, decision, message);
      },
    });
  }

  // ── events ─────────────────────────────────────────────────────────────────────────────

  /** Every keystroke chunk from the responder. */
  input(chunk: Buffer): void {
    const s = this.state;
    if (this.queue.length === 0) {
      if (s === 'idle' || s === 'typing') return this.runAndPump(chunk);
      if (s === 'fullscreen') return this.passThrough(chunk);
    }
    if (s === 'closed') return;
    if (s === 'reviewing') return this.review.input(chunk);
    if ((s === 'holding' || s === 'waiting') && chunk.includes(CTRL_C)) return this.abandon(chunk);
    this.enqueue(chunk);
    if (s === 'idle' || s === 'typing' || s === 'fullscreen') this.pump();
  }

  /** Every output chunk from the target, on arrival (before the emulator parses it). */
  output(): void {
    this.echo.output(this.ports.clock.now(), this.state === 'typing' || this.state === 'holding');
  }

  resized(): void {
    // The shell redraws its line after a resize: that output is expected, not noise.
    this.echo.input(this.ports.clock.now(), false, false);
  }

  pasteModeOn(): void {
    this.waiting.pasteModeOn();
    // readline reads a line again: the full-screen program is gone, whatever the screen says.
    if (this.state === 'fullscreen' && this.program !== null && !pastesItself(this.program)) this.toIdle();
  }

  /** An exec session with a terminal: `command` (judged already) runs; no shell reads lines yet. */
  programStarted(command: string): void {
    this.nextProgram = fullScreenProgram(command);
  }

  /** Shell integration finished installing: `nonce` when bash now prints marks, else null. */
  setupDone(nonce: string | null): void {
    this.marks.nonce = nonce;
    // The setup removed vi command mode's `v` and `#` from the shell's key bindings.
    this.guard.viChecks = nonce === null;
    if (this.state !== 'setup') return;
    // Keys typed meanwhile wait for the new prompt (else the tty echoes them as type-ahead).
    this.afterLine();
  }

  /** An OSC 133 payload, with the screen as it was at that point of the output. */
  mark(payload: string): void {
    if (this.state === 'closed') return;
    const effect = this.marks.mark(payload, this.ports.clock.now());
    if (effect.kind === 'forged') this.report('forged-shell-mark', { payload: payload.slice(0, 120) });
    else if (effect.kind === 'finished') this.ports.finished(effect.command, effect.exitCode, effect.durationMs);
    else if (effect.kind === 'unjudged') this.breach();
    else if (effect.kind === 'prompt-start') {
      if (this.state === 'fullscreen') this.toIdle();
    } else if (effect.kind === 'prompt') {
      // The shell's own prompt, the cursor right after it: the exact start of the next command.
      this.continuation = null;
      this.nextProgram = null;
      if (this.state === 'idle' || this.state === 'waiting') this.guard.reset();
      this.ports.screen.known = true;
      const line = cursorLine(this.ports.screen);
      if (line.ok) {
        this.current = line.before;
        this.prompts.remember(line.before);
      }
      if (this.state === 'fullscreen') this.toIdle();
      else if (this.state === 'waiting') this.ready();
    }
  }

  altScreen(active: boolean): void {
    if (this.state === 'closed') return;
    if (active && this.nextProgram !== null && (this.state === 'idle' || this.state === 'waiting')) {
      this.program = this.nextProgram;
      this.nextProgram = null;
      this.cancelTimer();
      this.state = 'fullscreen';
      this.pump();
    } else if (active && (this.state === 'typing' || this.state === 'holding')) {
      this.report('alternate-screen-while-typing', { why: 'a program took over the screen while a command line was typed (an editor opened from the line?); lines are still judged' });
    } else if (!active && this.state === 'fullscreen') {
      this.toIdle();
    }
  }

  close(): void {
    this.state = 'closed';
    this.cancelTimer();
    this.review.cancel();
    this.queue.clear();
  }

  // ── typing ─────────────────────────────────────────────────────────────────────────────

  private runAndPump(chunk: Buffer): void {
    this.run(chunk);
    if (this.queue.length > 0) this.pump();
  }

  /** Processes keystrokes while a line is open; stops (queueing the rest) when Enter is held. */
  private run(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.state !== 'idle' && this.state !== 'typing') return this.queue.unshift(chunk.subarray(start));
      if (this.state === 'idle' && !this.ports.screen.caughtUp && !this.ports.screen.flood) {
        // The prompt is learned from a screen holding everything printed before this key.
        this.queue.unshift(chunk.subarray(start));
        return this.wait('caught-up');
      }
      if (this.paste.active) {
        const { next, result } = this.paste.take(chunk, start, this.ports.screen.bracketedPaste);
        if (result.kind === 'forward') this.send(result.bytes, true);
        else if (result.kind === 'dropped') this.ports.client(`\r\n[gatehouse] ${result.why}\r\n`);
        else if (result.kind === 'lines') {
          // The lines, each with its Enter, go before whatever followed the paste in this chunk.
          this.queue.unshift(chunk.subarray(next));
          this.queue.unshift(result.bytes);
          return;
        }
        start = next;
        continue;
      }
      const i = nextSpecial(chunk, start);
      if (i < 0) return this.forward(start === 0 ? chunk : chunk.subarray(start));
      if (i > start) this.forward(chunk.subarray(start, i));
      // The key acts as itself: nothing pending on the target may take it as an argument.
      this.guard.settle(this.sink);
      const special = specialAt(chunk, i);
      if (special === 'paste') {
        this.paste.start(this.guard.pastable ? null : 'a paste while the line editor may be in vi command mode would be read as keys; it was dropped (press i, then paste)');
        start = i + PASTE_START.length;
        continue;
      }
      if (special === 'ctrl-c') {
        this.send(chunk.subarray(i, i + 1), true);
        this.lineAbandoned();
      } else {
        this.hold(chunk.subarray(i, i + 1));
      }
      start = i + 1;
    }
  }

  /** Typed keys, through the guard. */
  private forward(bytes: Buffer): void {
    this.guard.pass(bytes, this.sink);
  }

  /** Sends keys on; `typed`: the responder typed them (else the guard added them: not recorded). */
  private send(bytes: Buffer, typed: boolean): void {
    if (this.state === 'idle') this.beginLine();
    // Noted before sending: an echo may come back before upstream() returns (a local PTY).
    this.echo.input(this.ports.clock.now(), typed && !this.secret && isEdit(bytes), typed);
    this.ports.upstream(bytes, typed && !this.secret);
  }

  private beginLine(): void {
    this.state = 'typing';
    this.redraws = 0;
    this.echo.reset();
    const s = this.ports.screen;
    if (this.current === null && s.caughtUp) {
      const line = cursorLine(s);
      if (line.ok) this.current = line.before;
    }
    this.secret = this.current !== null && looksLikePasswordPrompt(this.current) && !s.bracketedPaste && !this.marks.atPrompt && !s.altActive;
    if (!this.secret && this.current !== null) this.prompts.remember(this.current);
  }

  private lineAbandoned(): void {
    this.guard.reset();
    this.continuation = null;
    this.current = null;
    this.secret = false;
    this.paste.reset();
    this.state = 'idle';
  }

  private passThrough(chunk: Buffer): void {
    // A known shell prompt on the cursor line while "full screen" (the program died without
    // leaving the alternate screen, or something printed the switch, maybe text before it):
    // judge lines again. The prompt is not learned from this line: with output before it, the
    // whole line is judged.
    if ((chunk.includes(CR) || chunk.includes(LF)) && this.promptVisible()) {
      this.toIdle();
      this.current = '';
      return this.input(chunk);
    }
    this.ports.upstream(chunk, true);
  }

  private promptVisible(): boolean {
    const line = cursorLine(this.ports.screen);
    return line.ok && this.prompts.containsKnown(line.text);
  }

  // ── holding and deciding ───────────────────────────────────────────────────────────────

  private hold(enter: Buffer): void {
    if (this.state === 'idle') this.beginLine();
    this.held = enter;
    this.state = 'holding';
    this.holdStart = this.ports.clock.now();
    this.settle();
  }

  /** Waits until the emulator has everything, the echo came back and output is quiet; decides. */
  private readonly settle = (): void => {
    this.timer = null;
    if (this.state !== 'holding') return;
    const now = this.ports.clock.now();
    const e = this.echo;
    const s = this.ports.screen;
    if (now - this.holdStart > MAX_SETTLE_MS) return this.apply(refusal(this.screenText(), 'the screen did not settle (output kept arriving); the line cannot be read'));
    const wait = settleWait(now, s.caughtUp, e);
    if (wait > 0) return this.after(wait, this.settle);
    this.apply(
      decideLine({
        rows: s,
        prompts: this.prompts,
        current: this.current,
        continuation: this.continuation,
        secret: this.secret,
        dirty: e.dirty,
        known: s.known,
        unechoedEdit: e.awaiting && e.unechoedEdit,
        canRedraw: !this.secret && s.bracketedPaste && this.redraws < MAX_REDRAWS,
        programInput: !s.bracketedPaste && !this.marks.atPrompt && !s.altActive,
        judge: this.ports.judge,
      }),
    );
  };

  private apply(a: Action): void {
    switch (a.kind) {
      case 'redraw':
        this.redraws++;
        this.echo.dirty = false;
        this.ports.screen.known = true;
        this.echo.input(this.ports.clock.now(), true, false);
        this.ports.upstream(REDRAW, false);
        this.holdStart = this.ports.clock.now();
        return this.after(QUIET_MS, this.settle);
      case 'release':
        this.continuation = a.continuation;
        this.release(a.command);
        // Recorded after the Enter is on its way: writing the event must not delay the command.
        if (a.command !== null && a.decision !== null) this.ports.judged(a.command, a.decision);
        return;
      case 'review':
        this.state = 'reviewing';
        return this.review.start(a.command, a.decision);
      case 'deny':
        return this.deny(a.command, a.decision, formatDecision(a.decision));
    }
  }

  private release(command: string | null): void {
    const enter = this.held;
    this.held = null;
    this.echo.input(this.ports.clock.now(), false, false);
    if (enter !== null) this.ports.upstream(enter, true);
    this.current = null;
    this.secret = false;
    this.marks.release(command);
    this.guard.reset();
    if (command !== null) this.nextProgram = fullScreenProgram(command);
    this.afterLine();
  }

  private deny(command: string, decision: Decision, message: string): void {
    this.ports.judged(command, decision);
    const whole = this.continuation !== null ? ' (the whole multi-line command is abandoned)' : '';
    this.ports.client(`\r\n[gatehouse] ${message}${whole}\r\n`);
    this.held = null;
    this.echo.input(this.ports.clock.now(), false, false);
    this.ports.upstream(ABANDON, false);
    const dropped = this.queue.clear();
    if (dropped > 0) this.ports.client(`[gatehouse] ${dropped} bytes typed or pasted after it were dropped\r\n`);
    this.lineAbandoned();
    // New keys wait until the shell has drawn its fresh prompt.
    this.wait('settle');
  }

  /** Ctrl-C while a line is held or queued input waits: the line and the queue are dropped. */
  private abandon(chunk: Buffer): void {
    const at = chunk.lastIndexOf(CTRL_C);
    this.cancelTimer();
    this.held = null;
    this.queue.clear();
    this.echo.input(this.ports.clock.now(), false, false);
    this.ports.upstream(ABANDON, true);
    this.lineAbandoned();
    if (at + 1 < chunk.length) this.runAndPump(chunk.subarray(at + 1));
  }

  // ── between lines ──────────────────────────────────────────────────────────────────────

  /** A line went on: idle, or, with input queued (a paste), wait for the prompt first. */
  private afterLine(): void {
    if (this.queue.length === 0) this.state = 'idle';
    else this.wait('prompt');
  }

  private wait(kind: WaitKind): void {
    this.state = 'waiting';
    this.after(this.waiting.begin(kind, this.ports.clock.now()), this.ready);
  }

  /** Decides whether queued input may go on: the screen caught up, and the prompt is back. */
  private readonly ready = (): void => {
    this.cancelTimer();
    if (this.state !== 'waiting') return;
    const now = this.ports.clock.now();
    if (!this.ports.screen.caughtUp && !this.ports.screen.flood) return this.after(POLL_MS, this.ready);
    if (!this.waiting.over(now, this.echo.quietFor(now), this.marks.atPrompt)) return this.after(QUIET_MS, this.ready);
    this.state = 'idle';
    this.pump();
  };

  private toIdle(): void {
    this.cancelTimer();
    this.guard.reset();
    this.program = null;
    this.state = 'idle';
    this.current = null;
    this.secret = false;
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const s = this.state;
      if (s !== 'idle' && s !== 'typing' && s !== 'fullscreen') return;
      const chunk = this.queue.shift();
      if (chunk === undefined) return;
      if (s === 'fullscreen') this.passThrough(chunk);
      else this.run(chunk);
    }
  }

  private enqueue(chunk: Buffer): void {
    if (!this.queue.push(chunk) && this.queue.overflowed()) {
      this.ports.client('\r\n[gatehouse] too much input while a command is held; the excess was dropped\r\n');
    }
  }

  private after(ms: number, fn: () => void): void {
    this.timer?.cancel();
    this.timer = this.ports.clock.setTimer(Math.max(0, ms), fn);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private screenText(): string {
    return shown({ rows: this.ports.screen, prompts: this.prompts, current: this.current });
  }

  /** Reports an anomaly once per kind (and `key`) and session (alert only: lines are still judged). */
  private report(detector: string, evidence: Record<string, unknown>, key = ''): void {
    if (this.reported.has(`${detector}:${key}`)) return;
    this.reported.add(`${detector}:${key}`);
    this.ports.anomaly(detector, evidence);
  }

  /** The shell ran a command line no released Enter accounts for: nothing more goes through. */
  private breach(): void {
    this.close();
    this.ports.breach('unjudged-command', { why: 'the shell started a command line the broker never released an Enter for (a key binding or macro ran it past inspection)' }, 'the shell ran a command that was not inspected (a key binding or macro?)');
  }
}
