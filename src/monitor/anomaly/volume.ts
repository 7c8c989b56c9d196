/**
 * Output volume: more than `bytes` of output within `within` in one session (bulk exfiltration
 * through the terminal). Optionally also relative to the session's own baseline: with `factor`, the
 * window's output above `factor` × what the session's average rate before the window would send in
 * one window fires too, once the session has `warmup` of history and the window holds at least
 * `minBytes` (a quiet shell's baseline is near zero; one `cat` must not look like exfiltration).
 * Sampled, never per chunk: the engine reads each session's bytesOut counter every tick (250 ms by
 * default) and this detector keeps a short history of those readings, at most ~64 per window, so
 * the cost is a few numbers per session whatever the traffic.
 *
 * Limits: detection lags the crossing by up to one tick; output that trickles out just under the
 * rate is not seen; a session that ramps up slowly raises its own baseline; input (uploads) is not
 * counted.
 */
import type { Finding, SampledDetector, Subject } from './types.js';

interface History {
  /** Readings, oldest first; spaced at least `withinMs / 64` apart. */
  readonly samples: { at: number; bytes: number }[];
  /** bytesOut when this detector last fired: the next firing needs another `bytes` on top. */
  firedAt: number;
  /** When watching began (bytesOut was 0): the baseline's start. */
  readonly start: number;
}

/**
 * The baseline rule, pure: `sent` bytes within a window of `withinMs`, against the session's
 * average rate from `start` to `before` (the reading at the window's start). Returns the baseline
 * in bytes per window when the rule fires, else null.
 */
export function aboveBaseline(cfg: { readonly factor: number; readonly warmupMs: number; readonly minBytes: number }, withinMs: number, start: number, before: { at: number; bytes: number }, sent: number): number | null {
  const history = before.at - start;
  if (history <= 0 || history < cfg.warmupMs || sent < cfg.minBytes) return null;
  const perWindow = (before.bytes / history) * withinMs;
  return sent > cfg.factor * perWindow ? perWindow : null;
}

const SAMPLES_PER_WINDOW = 64;

export class OutputVolume implements SampledDetector {
  private readonly history = new Map<string, History>();

  sample(s: Subject, now: number): Finding | null {
    const cfg = s.spec.template.anomaly.outputVolume;
    if (cfg === null) return null;
    const bytes = s.stats.bytesOut;
    let h = this.history.get(s.id);
    if (h === undefined) {
      // Sessions are watched from their start, so whatever was sent so far was sent within the window.
      h = { samples: [{ at: now, bytes: 0 }], firedAt: 0, start: now };
      this.history.set(s.id, h);
    }
    const start = now - cfg.withinMs;
    while (h.samples.length > 1 && (h.samples[1] as { at: number }).at <= start) h.samples.shift();
    const last = h.samples[h.samples.length - 1] as { at: number; bytes: number };
    if (now - last.at >= cfg.withinMs / SAMPLES_PER_WINDOW) h.samples.push({ at: now, bytes });
    // The oldest reading inside (or just before) the window is the baseline.
    const oldest = h.samples[0] as { at: number; bytes: number };
    const sent = bytes - Math.max(oldest.bytes, h.firedAt);
    const baseline = sent > cfg.bytes || cfg.baseline === undefined ? null : aboveBaseline(cfg.baseline, cfg.withinMs, h.start, oldest, sent);
    if (sent <= cfg.bytes && baseline === null) return null;
    h.firedAt = bytes;
    const overMs = Math.max(1, now - Math.max(oldest.at, 0));
    const observed = `${formatBytes(sent)} in ${(Math.min(overMs, cfg.withinMs) / 1000).toFixed(1)} s`;
    const within = `${Math.round(cfg.withinMs / 1000)} s`;
    return {
      detector: 'outputVolume',
      action: cfg.action,
      grantId: s.grantId,
      sessionId: s.id,
      summary:
        baseline === null
          ? `output volume: ${observed} (limit ${formatBytes(cfg.bytes)} in ${within})`
          : `output volume: ${observed}, over ${cfg.baseline?.factor}× this session's baseline of ${formatBytes(Math.round(baseline))} per ${within}`,
      evidence: {
        rule: baseline === null ? 'absolute' : 'baseline',
        bytes: sent,
        limit: cfg.bytes,
        withinMs: cfg.withinMs,
        observedMs: Math.min(overMs, cfg.withinMs),
        bytesOutTotal: bytes,
        bytesInTotal: s.stats.bytesIn,
        ...(baseline !== null && { baselineBytes: Math.round(baseline), factor: cfg.baseline?.factor }),
      },
      trigger: null,
      ctx: { ...s.ctx(), actor: 'gatehouse' },
    };
  }

  forget(sessionId: string): void {
    this.history.delete(sessionId);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i] as string}`;
}
