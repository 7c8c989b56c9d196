/**
 * Output volume: more than `bytes` of output within `within` in one session (bulk exfiltration
 * through the terminal). Sampled, never per chunk: the engine reads each session's bytesOut counter
 * every tick (250 ms by default) and this detector keeps a short history of those readings, at
 * most ~64 per window, so the cost is a few numbers per session whatever the traffic.
 *
 * Limits: detection lags the crossing by up to one tick; output that trickles out just under the
 * rate is not seen; input (uploads) is not counted.
 */
import type { Finding, SampledDetector, Subject } from './types.js';

interface History {
  /** Readings, oldest first; spaced at least `withinMs / 64` apart. */
  readonly samples: { at: number; bytes: number }[];
  /** bytesOut when this detector last fired: the next firing needs another `bytes` on top. */
  firedAt: number;
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
      h = { samples: [{ at: now, bytes: 0 }], firedAt: 0 };
      this.history.set(s.id, h);
    }
    const start = now - cfg.withinMs;
    while (h.samples.length > 1 && (h.samples[1] as { at: number }).at <= start) h.samples.shift();
    const last = h.samples[h.samples.length - 1] as { at: number; bytes: number };
    if (now - last.at >= cfg.withinMs / SAMPLES_PER_WINDOW) h.samples.push({ at: now, bytes });
    // The oldest reading inside (or just before) the window is the baseline.
    const oldest = h.samples[0] as { at: number; bytes: number };
    const sent = bytes - Math.max(oldest.bytes, h.firedAt);
    if (sent <= cfg.bytes) return null;
    h.firedAt = bytes;
    const overMs = Math.max(1, now - Math.max(oldest.at, 0));
    return {
      detector: 'outputVolume',
      action: cfg.action,
      grantId: s.grantId,
      sessionId: s.id,
      summary: `output volume: ${formatBytes(sent)} in ${(Math.min(overMs, cfg.withinMs) / 1000).toFixed(1)} s (limit ${formatBytes(cfg.bytes)} in ${Math.round(cfg.withinMs / 1000)} s)`,
      evidence: { bytes: sent, limit: cfg.bytes, withinMs: cfg.withinMs, observedMs: Math.min(overMs, cfg.withinMs), bytesOutTotal: bytes, bytesInTotal: s.stats.bytesIn },
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
