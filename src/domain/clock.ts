/**
 * Time comes in as a Clock (Teleport's injected clockwork), so expiry and lifecycle tests run in
 * microseconds without sleeping. `setTimer` exists so the monitor's deadline timers follow the
 * same clock as the decisions they enforce.
 */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
}

export interface Timer {
  cancel(): void;
}

/** Node's setTimeout caps at 2^31-1 ms; longer deadlines are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    let handle: NodeJS.Timeout;
    const deadline = Date.now() + ms;
    const arm = (): void => {
      const left = deadline - Date.now();
      if (left > MAX_TIMER_MS) {
        handle = setTimeout(arm, MAX_TIMER_MS);
      } else {
        handle = setTimeout(fn, Math.max(0, left));
      }
      handle.unref?.();
    };
    arm();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** A clock that only moves when told to; timers fire synchronously inside `advance`. */
export class ManualClock implements Clock {
  private current: number;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const t = { at: this.current + Math.max(0, ms), fn, live: true };
    this.timers.push(t);
    return { cancel: () => void (t.live = false) };
  }

  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.live = false;
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.current = until;
  }
}
