/**
 * outputVolume's optional baseline rule (`factor`, `warmup`, `minBytes`): output far above the
 * session's own earlier rate fires even under the absolute `bytes` limit; the pure check, the
 * sampled detector on a ManualClock-style timeline, and the config keys.
 */
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../../src/config/load.js';
import { aboveBaseline, OutputVolume } from '../../../src/monitor/anomaly/volume.js';
import { subject, template, T0 } from './fixtures.js';

const RULE = { factor: 20, warmupMs: 120_000, minBytes: 1024 * 1024 };

describe('aboveBaseline (pure)', () => {
  const before = { at: T0 + 300_000, bytes: 3_000_000 }; // 10 B/ms for 5 minutes

  it('returns the baseline per window when the window is more than factor × it', () => {
    expect(aboveBaseline(RULE, 10_000, T0, before, 2_000_001)).toBe(100_000);
  });

  it.each([
    ['at exactly factor × the baseline', RULE, before, 2_000_000],
    ['before the warm-up is over', RULE, { at: T0 + 119_999, bytes: 1_199_990 }, 5_000_000],
    ['with no history at all', RULE, { at: T0, bytes: 0 }, 5_000_000],
    ['under minBytes, whatever the baseline', { ...RULE, minBytes: 3_000_000 }, before, 2_500_000],
  ])('is null %s', (_why, rule, b, sent) => {
    expect(aboveBaseline(rule, 10_000, T0, b, sent)).toBeNull();
  });

  it('a silent session has a zero baseline: minBytes alone decides', () => {
    const silent = { at: T0 + 300_000, bytes: 0 };
    expect(aboveBaseline(RULE, 10_000, T0, silent, RULE.minBytes - 1)).toBeNull();
    expect(aboveBaseline(RULE, 10_000, T0, silent, RULE.minBytes)).toBe(0);
  });
});

describe('OutputVolume with a baseline rule', () => {
  // The absolute limit (50 MB in 10 s) is far away: only the baseline rule can fire here.
  const t = template({ outputVolume: { bytes: 50_000_000, withinMs: 10_000, action: 'kill', baseline: RULE } });

  /** Samples every 250 ms from `from` to `to`, bytesOut following `bytes(ms)`; returns the first finding. */
  function run(v: OutputVolume, s: ReturnType<typeof subject>, from: number, to: number, bytes: (ms: number) => number): { at: number; f: ReturnType<OutputVolume['sample']> } | null {
    for (let ms = from; ms <= to; ms += 250) {
      s.bytesOut = bytes(ms);
      const f = v.sample(s, T0 + ms);
      if (f !== null) return { at: ms, f };
    }
    return null;
  }

  it('fires on a burst 20× the session’s earlier rate after the warm-up, with the baseline as evidence', () => {
    const v = new OutputVolume();
    const s = subject({ template: t });
    const trickle = (ms: number): number => ms * 10; // 10 KB/s: 100 KB per 10 s window
    expect(run(v, s, 0, 300_000, trickle)).toBeNull();
    // Then 250 KB more per tick: the window holds 100 KB + 250 KB × k, over 2 MB at the 8th tick.
    const hit = run(v, s, 300_250, 320_000, (ms) => trickle(ms) + ((ms - 300_000) / 250) * 250_000);
    expect(hit?.at).toBe(302_000);
    expect(hit?.f).toMatchObject({
      detector: 'outputVolume',
      action: 'kill',
      evidence: { rule: 'baseline', bytes: 2_100_000, limit: 50_000_000, withinMs: 10_000, observedMs: 10_000, baselineBytes: 100_000, factor: 20 },
    });
    expect(hit?.f?.summary).toBe("output volume: 2.0 MiB in 10.0 s, over 20× this session's baseline of 97.7 KiB per 10 s");
  });

  it('the same burst during the warm-up does not fire (and never did without the rule)', () => {
    const burst = (ms: number): number => ms * 10 + Math.max(0, (ms - 60_000) / 250) * 250_000;
    const early = new OutputVolume();
    expect(run(early, subject({ template: t }), 0, 70_000, burst)).toBeNull();
    const plain = new OutputVolume();
    const without = template({ outputVolume: { bytes: 50_000_000, withinMs: 10_000, action: 'kill' } });
    expect(run(plain, subject({ template: without }), 0, 302_000, (ms) => (ms <= 300_000 ? ms * 10 : 3_000_000 + ((ms - 300_000) / 250) * 250_000))).toBeNull();
  });

  it('a session that keeps its own pace never fires, however busy that pace is', () => {
    const v = new OutputVolume();
    expect(run(v, subject({ template: t }), 0, 900_000, (ms) => ms * 4_000)).toBeNull(); // 4 MB/s, steady
  });

  it('a silent session: one small burst under minBytes is let through, a bigger one fires', () => {
    const v = new OutputVolume();
    const s = subject({ template: t });
    expect(run(v, s, 0, 300_000, () => 0)).toBeNull();
    expect(run(v, s, 300_250, 300_250, () => 500_000)).toBeNull();
    const hit = run(v, s, 300_500, 300_500, () => 1_200_000);
    expect(hit?.f?.evidence).toMatchObject({ rule: 'baseline', bytes: 1_200_000, baselineBytes: 0 });
  });
});

describe('config', () => {
  const build = (outputVolume: Record<string, unknown>): unknown =>
    buildConfig({ brokerId: 'b', templates: [{ name: 't', maxDuration: '1h', targets: ['*'], commands: { allow: ['ls *'] }, anomaly: { outputVolume } }] }, { baseDir: '/tmp', env: {}, source: 't.yaml' }).templates[0]?.anomaly.outputVolume;

  it('maps factor, warmup and minBytes, with defaults of 5m and 1 MiB', () => {
    expect(build({ bytes: 10_485_760, within: '1m', action: 'kill', factor: 20 })).toEqual({ bytes: 10_485_760, withinMs: 60_000, action: 'kill', baseline: { factor: 20, warmupMs: 300_000, minBytes: 1_048_576 } });
    expect(build({ bytes: 10_485_760, within: '1m', action: 'alert', factor: 5, warmup: '10m', minBytes: 65_536 })).toEqual({ bytes: 10_485_760, withinMs: 60_000, action: 'alert', baseline: { factor: 5, warmupMs: 600_000, minBytes: 65_536 } });
  });

  it('has no baseline rule without factor, and refuses a factor under 2', () => {
    expect(build({ bytes: 10_485_760, within: '1m', action: 'kill' })).toEqual({ bytes: 10_485_760, withinMs: 60_000, action: 'kill' });
    expect(() => build({ bytes: 10_485_760, within: '1m', action: 'kill', factor: 1.5 })).toThrow(/templates\[0\]\.anomaly\.outputVolume\.factor/);
  });
});
