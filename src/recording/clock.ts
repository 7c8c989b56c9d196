/**
 * The one clock of recordings: both the relay thread (which stamps each piece on arrival) and the
 * recording thread (which writes the times) read it, so it lives apart from either side's code.
 */
import { performance } from 'node:perf_hooks';

/** Milliseconds on a clock every thread shares (performance.now() alone differs per thread). */
export function absNow(): number {
  return performance.timeOrigin + performance.now();
}
