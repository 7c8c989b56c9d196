/** Each detector on its own: evidence in, finding (or not) out; no sessions, sockets or timers. */
import { describe, expect, it } from 'vitest';
import type { Template } from '../../../src/domain/types.js';
import type { AuditEvent } from '../../../src/events/types.js';
import { DeniedCommands } from '../../../src/monitor/anomaly/denied.js';
import { IdleTracker } from '../../../src/monitor/anomaly/idle.js';
import { NewSource } from '../../../src/monitor/anomaly/new-source.js';
import { OutsideNetworks } from '../../../src/monitor/anomaly/outside-networks.js';
import { Overrun } from '../../../src/monitor/anomaly/overrun.js';
import { hostOf, printableText, type EventInput, type LiveRow } from '../../../src/monitor/anomaly/types.js';
import { formatBytes, OutputVolume } from '../../../src/monitor/anomaly/volume.js';
import { event, subject, T0, template } from './fixtures.js';

const input = (t: Template, live: LiveRow[] = []): EventInput => ({ template: t, session: undefined, now: T0, liveSessions: async () => live });

describe('deniedCommands', () => {
  const t = template({ deniedCommands: { count: 3, withinMs: 60_000, action: 'kill' } });
  const denied = (at: number, over: Partial<AuditEvent> = {}, mode = 'interactive'): AuditEvent => event('command.denied', { ...over, data: { command: `rm -rf /x${at}`, reasons: [], mode } }, at);

  it('fires on the count-th denial within the window, with the commands as evidence, then starts over', () => {
    const d = new DeniedCommands();
    expect(d.judge(denied(T0), input(t))).toBeNull();
    expect(d.judge(denied(T0 + 1_000), input(t))).toBeNull();
    const f = d.judge(denied(T0 + 2_000), input(t));
    expect(f).toMatchObject({ detector: 'deniedCommands', action: 'kill', grantId: 'g-1', sessionId: 's-1', evidence: { count: 3, limit: 3, withinMs: 60_000, scope: 'session', mode: 'interactive' } });
    expect((f?.evidence.commands as { command: string }[]).map((c) => c.command)).toEqual([`rm -rf /x${T0}`, `rm -rf /x${T0 + 1000}`, `rm -rf /x${T0 + 2000}`]);
    expect(f?.summary).toBe('3 commands denied within 2 s (limit 3 in 60 s)');
    expect(d.judge(denied(T0 + 3_000), input(t))).toBeNull();
  });

  it('forgets denials older than the window', () => {
    const d = new DeniedCommands();
    d.judge(denied(T0), input(t));
    d.judge(denied(T0 + 30_000), input(t));
    expect(d.judge(denied(T0 + 61_000), input(t))).toBeNull();
    expect(d.judge(denied(T0 + 62_000), input(t))).not.toBeNull();
  });

  it('counts interactive denials per session and exec denials per grant', () => {
    const d = new DeniedCommands();
    d.judge(denied(T0, { sessionId: 's-a' }), input(t));
    d.judge(denied(T0 + 1, { sessionId: 's-b' }), input(t));
    expect(d.judge(denied(T0 + 2, { sessionId: 's-c' }), input(t))).toBeNull();
    // Each exec has its own would-be session id; they still add up under the grant.
    d.judge(denied(T0, { sessionId: 'x-1' }, 'exec'), input(t));
    d.judge(denied(T0 + 1, { sessionId: 'x-2' }, 'exec'), input(t));
    expect(d.judge(denied(T0 + 2, { sessionId: 'x-3' }, 'exec'), input(t))).toMatchObject({ evidence: { scope: 'grant', mode: 'exec' }, sessionId: 'x-3' });
  });

  it('is off when the template says null, and sweeps stale windows', () => {
    const d = new DeniedCommands();
    expect(d.judge(denied(T0), input(template({})))).toBeNull();
    d.judge(denied(T0, { sessionId: 's-old' }), input(t));
    expect(d.size).toBe(1);
    d.sweep(T0 + 61_000);
    expect(d.size).toBe(0);
  });
});

describe('outputVolume (sampled)', () => {
  const t = template({ outputVolume: { bytes: 1_000_000, withinMs: 10_000, action: 'alert' } });

  it('fires when more than `bytes` went out within the window, then needs another `bytes`', () => {
    const v = new OutputVolume();
    const s = subject({ template: t });
    expect(v.sample(s, T0)).toBeNull();
    s.bytesOut = 900_000;
    expect(v.sample(s, T0 + 250)).toBeNull();
    s.bytesOut = 1_200_000;
    const f = v.sample(s, T0 + 500);
    expect(f).toMatchObject({ detector: 'outputVolume', action: 'alert', sessionId: 's-1', trigger: null, evidence: { bytes: 1_200_000, limit: 1_000_000, withinMs: 10_000, bytesOutTotal: 1_200_000 } });
    expect(f?.summary).toBe('output volume: 1.1 MiB in 0.5 s (limit 977 KiB in 10 s)');
    s.bytesOut = 2_000_000;
    expect(v.sample(s, T0 + 750)).toBeNull();
    s.bytesOut = 2_300_000;
    expect(v.sample(s, T0 + 1_000)).not.toBeNull();
  });

  it('lets a steady trickle under the rate through, however long it runs', () => {
    const v = new OutputVolume();
    const s = subject({ template: t });
    for (let ms = 0; ms <= 120_000; ms += 250) {
      s.bytesOut = Math.floor(ms * 90); // 90 KB/s: 900 KB per 10 s window
      expect(v.sample(s, T0 + ms)).toBeNull();
    }
  });

  it('keeps a bounded history whatever the session length', () => {
    const v = new OutputVolume();
    const s = subject({ template: t });
    for (let ms = 0; ms <= 600_000; ms += 250) v.sample(s, T0 + ms);
    const h = (v as unknown as { history: Map<string, { samples: unknown[] }> }).history.get('s-1');
    expect(h?.samples.length).toBeLessThanOrEqual(70);
    v.forget('s-1');
    expect((v as unknown as { history: Map<string, unknown> }).history.size).toBe(0);
  });

  it('formats sizes', () => {
    expect([formatBytes(512), formatBytes(2048), formatBytes(5 * 1024 * 1024), formatBytes(300 * 1024 * 1024 * 1024)]).toEqual(['512 B', '2.0 KiB', '5.0 MiB', '300 GiB']);
  });
});

describe('idle and overrun (sampled)', () => {
  it('idle: reports once input and output have not moved for the limit', () => {
    const idle = new IdleTracker();
    const s = subject({ template: template({}, { idleTimeoutMs: 1_000 }) });
    expect(idle.check(s, T0)).toBeNull();
    expect(idle.check(s, T0 + 900)).toBeNull();
    s.bytesIn = 1; // a keystroke resets the clock
    expect(idle.check(s, T0 + 950)).toBeNull();
    expect(idle.check(s, T0 + 1_900)).toBeNull();
    expect(idle.check(s, T0 + 1_950)).toBe(1_000);
    // Once per idle stretch: the end is under way.
    expect(idle.check(s, T0 + 2_200)).toBeNull();
    s.bytesOut = 1; // activity starts a new stretch
    expect(idle.check(s, T0 + 2_300)).toBeNull();
    expect(idle.check(s, T0 + 3_300)).toBe(1_000);
    expect(idle.check(subject({ id: 's-2' }), T0 + 99_999)).toBeNull(); // no limit configured
  });

  it('overrun: fires once for a session live past its grant deadline plus the margin', () => {
    const o = new Overrun(2_000);
    const s = subject({ grant: { expiresAt: T0 } });
    expect(o.sample(s, T0 + 1_999)).toBeNull();
    expect(o.sample(s, T0 + 2_500)).toMatchObject({ detector: 'overrun', action: 'kill', evidence: { overdueMs: 2_500, marginMs: 2_000 } });
    expect(o.sample(s, T0 + 3_000)).toBeNull();
  });
});

describe('newSource and outsideNetworks', () => {
  const t = template({ newSource: { action: 'kill' }, outsideNetworks: { action: 'revoke' } }, { sourceNetworks: ['10.0.0.0/8'] });
  const row = (id: string, source: string, startedAt: number): LiveRow => ({ id, source, startedAt, broker: 'b1' });

  it('newSource: the later session from another address is the finding; the same address is not', async () => {
    const d = new NewSource();
    const start = (id: string, source: string): AuditEvent => event('session.start', { sessionId: id, source, data: { kind: 'shell' } });
    expect(await d.judge(start('s-2', '10.0.0.1:2'), input(t, [row('s-1', '10.0.0.1:1', T0), row('s-2', '10.0.0.1:2', T0 + 5)]))).toBeNull();
    const f = await d.judge(start('s-2', '10.9.9.9:2'), input(t, [row('s-1', '10.0.0.1:1', T0), row('s-2', '10.9.9.9:2', T0 + 5)]));
    expect(f).toMatchObject({ detector: 'newSource', action: 'kill', sessionId: 's-2', evidence: { source: '10.9.9.9', live: [{ sessionId: 's-1', source: '10.0.0.1' }] } });
    // The earlier session, judged after the later one started, is not blamed.
    expect(await d.judge(start('s-1', '10.0.0.1:1'), input(t, [row('s-1', '10.0.0.1:1', T0), row('s-2', '10.9.9.9:2', T0 + 5)]))).toBeNull();
  });

  it('outsideNetworks: only source-network refusals with a grant', () => {
    const d = new OutsideNetworks();
    const refused = (error: string, grantId: string | null = 'g-1'): AuditEvent => event('session.refused', { sessionId: null, grantId, incident: null, source: '192.0.2.7:4000', data: { error, message: 'outside' } });
    expect(d.judge(refused('GH_ERR_NO_GRANT'), input(t))).toBeNull();
    expect(d.judge(refused('GH_ERR_SOURCE_NETWORK', null), input(t))).toBeNull();
    expect(d.judge(refused('GH_ERR_SOURCE_NETWORK'), input(t))).toMatchObject({ detector: 'outsideNetworks', action: 'revoke', sessionId: null, evidence: { source: '192.0.2.7', allowed: ['10.0.0.0/8'] } });
  });
});

describe('helpers', () => {
  it('hostOf strips the port and IPv4-mapped prefixes', () => {
    expect(['127.0.0.2:5000', '::ffff:10.1.2.3:22', '::1:4000', '[fd00::1]:22'].map(hostOf)).toEqual(['127.0.0.2', '10.1.2.3', '::1', 'fd00::1']);
  });

  it('printableText removes control characters and bounds the length', () => {
    expect(printableText('a\u001b[31mb\r\n')).toBe('a?[31mb??');
    expect(printableText('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
