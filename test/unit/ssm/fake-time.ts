import type { Clock, Timers } from '../../../src/connectors/ssm/clock.js';

interface Timer {
  at: number;
  every: number | null;
  fn: () => void;
  cancelled: boolean;
}

/** A manual clock and timer wheel: `advance(ms)` fires what falls due, in time order. */
export class FakeTime implements Clock, Timers {
  private t: number;
  private timers: Timer[] = [];

  constructor(start = 1_503_434_274_948) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): () => void {
    return this.add({ at: this.t + ms, every: ms, fn, cancelled: false });
  }

  after(ms: number, fn: () => void): () => void {
    return this.add({ at: this.t + ms, every: null, fn, cancelled: false });
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => !x.cancelled && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.t = next.at;
      if (next.every !== null) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.t = end;
    this.timers = this.timers.filter((x) => !x.cancelled);
  }

  private add(timer: Timer): () => void {
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
}
