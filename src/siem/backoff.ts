/**
 * Retry delays for the sink workers: exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"). The ceiling doubles from `minMs` per attempt up to `maxMs`; the
 * delay is uniform in [0, ceiling), so sinks that failed together do not retry in lockstep. Pure:
 * `random` is injected so tests can pin it.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 16));
  return random() * ceiling;
}

/**
 * The delay before retrying a failed delivery, given what the sink said: a configuration error
 * (`permanent`) waits the maximum backoff; a receiver's Retry-After is honoured, up to 5 × maxMs.
 */
export function retryDelay(attempt: number, advice: { readonly permanent?: boolean; readonly retryAfterMs?: number | undefined } | null, minMs: number, maxMs: number, random: () => number = Math.random): number {
  if (advice?.permanent) return maxMs;
  const wait = backoffDelay(attempt, minMs, maxMs, random);
  return advice?.retryAfterMs === undefined ? wait : Math.max(wait, Math.min(advice.retryAfterMs, 5 * maxMs));
}
