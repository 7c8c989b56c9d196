import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreHealth } from '../../src/monitor/store-health.js';
import type { Store } from '../../src/store/ports.js';

/** A store whose ping answers as `answer` says: after `ms`, or fails at once. */
function fakeStore(answer: { ms: number; fail: boolean }): Store {
  return {
    ping: () =>
      answer.fail
        ? Promise.reject(new Error('connection refused'))
        : new Promise<void>((resolve) => setTimeout(resolve, answer.ms)),
  } as unknown as Store;
}

describe('StoreHealth', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
  const log = pino({ level: 'silent' });

  it('ends sessions once the store has failed for the whole bound, and not before', async () => {
    const answer = { ms: 1, fail: false };
    const onLost = vi.fn();
    const h = new StoreHealth(fakeStore(answer), 1_500, onLost, log, 1_000);
    h.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(onLost).not.toHaveBeenCalled();
    answer.fail = true; // the next check (at 4 s) is the first to fail
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.healthy).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000); // 1 s of failure
    expect(onLost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000); // 2 s
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(h.healthy).toBe(false);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(onLost).toHaveBeenCalledTimes(1);
    answer.fail = false;
    await vi.advanceTimersByTimeAsync(1_010);
    expect(h.healthy).toBe(true);
    h.stop();
  });

  it('an answer that arrives after the timeout still counts: slow answers never trip it', async () => {
    // Each ping answers 1.2 s after it was sent, after its 1 s timeout: every check "fails", but
    // each late answer proves the store reachable and restarts the count.
    const onLost = vi.fn();
    const h = new StoreHealth(fakeStore({ ms: 1_200, fail: false }), 1_500, onLost, log, 1_000);
    h.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(onLost).not.toHaveBeenCalled();
    expect(h.healthy).toBe(true);
    h.stop();
  });

  it('a store that never answers trips it', async () => {
    const onLost = vi.fn();
    const h = new StoreHealth({ ping: () => new Promise<void>(() => {}) } as unknown as Store, 1_500, onLost, log, 1_000);
    h.start();
    // Checks at 1, 2 and 3 s time out at 2, 3 and 4 s: failing since 2 s, tripped at 4 s.
    await vi.advanceTimersByTimeAsync(3_900);
    expect(onLost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(onLost).toHaveBeenCalledTimes(1);
    h.stop();
  });
});
