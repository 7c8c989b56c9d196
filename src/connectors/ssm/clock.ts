/**
 * Time as an injected dependency (Teleport's Clock idea), so the reliable-delivery state machine
 * can be driven by a fake clock in unit tests and by the real one in production.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface Timers {
  /** Calls `fn` every `ms` milliseconds until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` once after `ms` milliseconds unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Real timers, unref'd: a session's housekeeping timers never keep the process alive on their own
 * (the socket does that while the session lives).
 */
export const systemTimers: Timers = {
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return () => clearInterval(handle);
  },
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};
