/**
 * The retry that makes a session's end reach the store. Kept out of session.ts so the lifecycle
 * reads without the backoff arithmetic; the timer is its only I/O.
 */
import type { Logger } from 'pino';

/**
 * The end of a session must reach the store even if the store is briefly away (the store-health
 * watchdog may be ending sessions precisely because it is): retry with backoff for up to 10 min.
 */
export async function commitWithRetry(commit: () => Promise<unknown>, log: Logger): Promise<void> {
  for (let attempt = 0, waited = 0; ; attempt++) {
    try {
      await commit();
      return;
    } catch (err) {
      if (waited > 600_000) {
        log.error({ err }, 'giving up writing the session end; it will be closed as interrupted at the next start');
        return;
      }
      const wait = Math.min(10_000, 250 * 2 ** attempt);
      if (attempt === 0) log.warn({ err: (err as Error).message }, 'cannot write the session end yet; retrying');
      await new Promise((r) => setTimeout(r, wait).unref());
      waited += wait;
    }
  }
}
