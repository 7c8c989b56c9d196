/** Sink retry delays: the ceiling doubles per attempt up to the maximum, and the delay is jittered below it. */
import { describe, expect, it } from 'vitest';
import { backoffDelay, retryDelay } from '../../../src/siem/backoff.js';

/** A "random" source that returns the given values in turn. */
const seq = (...values: number[]) => {
  let i = 0;
  return (): number => values[i++ % values.length] as number;
};

describe('backoffDelay', () => {
  it('doubles its ceiling from the minimum per attempt, capped at the maximum', () => {
    const top = (a: number): number => backoffDelay(a, 200, 30_000, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(top)).toEqual([200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000]);
    expect(top(1_000)).toBe(30_000);
  });

  it('is jittered over the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(3, 200, 30_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 200, 30_000, () => 0.25)).toBe(400);
    expect(backoffDelay(3, 200, 30_000, () => 0.5)).toBe(800);
    // Two sinks that failed together draw different delays, so they do not retry in lockstep.
    const r = seq(0.1, 0.9);
    expect(backoffDelay(5, 200, 30_000, r)).not.toBe(backoffDelay(5, 200, 30_000, r));
  });

  it('stays within [0, ceiling) with the real random source', () => {
    const draws = Array.from({ length: 200 }, () => backoffDelay(4, 200, 30_000));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(3_200);
    expect(new Set(draws).size).toBeGreaterThan(150);
  });
});

describe('retryDelay', () => {
  it('waits the maximum for a configuration error, whatever the attempt', () => {
    expect(retryDelay(0, { permanent: true }, 200, 30_000, () => 0)).toBe(30_000);
  });

  it("honours the receiver's Retry-After when longer than the backoff, up to 5 × the maximum", () => {
    expect(retryDelay(0, { retryAfterMs: 10_000 }, 200, 30_000, () => 1)).toBe(10_000);
    expect(retryDelay(8, { retryAfterMs: 1_000 }, 200, 30_000, () => 1)).toBe(30_000);
    expect(retryDelay(0, { retryAfterMs: 3_600_000 }, 200, 30_000, () => 1)).toBe(150_000);
  });

  it('is the plain backoff without advice', () => {
    expect(retryDelay(2, null, 200, 30_000, () => 0.5)).toBe(400);
  });
});
