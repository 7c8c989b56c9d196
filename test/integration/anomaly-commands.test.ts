/**
 * Command anomalies end to end, with the real OpenSSH client: repeated denied commands and
 * known-dangerous commands, each action (alert, kill, revoke) taken within 100 ms of the event that
 * triggered it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness, TEST_RULES, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;
const LIMIT_MS = 100;
/**
 * The 100 ms budget is the broker's. On a loaded CI machine the process is not always scheduled;
 * time the event loop demonstrably did not get (measured from `lag.reset()`, just before the
 * trigger, to the assertion) is added back, so the bound stays ~100 ms on a quiet machine and the
 * test still fails when the broker is slow.
 */
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();
beforeEach(() => lag.reset());
const budget = (): number => LIMIT_MS + lag.max / 1e6;

/** ms from one event to another; GATEHOUSE_TEST_LATENCY=1 prints each measurement. */
const ms = (a: AuditEvent, b: AuditEvent): number => {
  const d = Date.parse(b.time) - Date.parse(a.time);
  if (process.env.GATEHOUSE_TEST_LATENCY) console.log(`latency ${a.type} -> ${b.type}: ${d} ms`);
  return d;
};
/** Template fields with only the given detectors on. */
const only = (detectors: Record<string, unknown>): Record<string, unknown> => ({ anomaly: { deniedCommands: null, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null, ...detectors } });

async function shell(h: Harness): Promise<{ pty: PtySsh; start: AuditEvent }> {
  const pty = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
  await pty.waitFor(PROMPT);
  const start = await until(async () => (await h.events('session.start')).find((e) => e.data.kind === 'shell'));
  lag.reset();
  return { pty, start };
}

describe('deniedCommands', () => {
  it('kills the live session when exec commands are denied 3 times within the window', async () => {
    const h = await startHarness(scope, { templateFields: only({ deniedCommands: { count: 3, within: '1m', action: 'kill' } }) });
    const g = await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    for (const path of ['/etc/passwd', '/var/log', '/tmp/evidence']) {
      const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), `rm -rf ${path}`);
      expect(r.code).toBe(126);
    }
    expect(await pty.exited).toBe(255);
    expect(pty.output).toContain('[gatehouse] session ended by the broker: 3 commands denied within');
    const denied = await h.events('command.denied');
    expect(denied).toHaveLength(3);
    const [found] = await until(async () => {
      const a = await h.events('anomaly.detected');
      return a.length > 0 && a;
    });
    expect(found?.data).toMatchObject({ detector: 'deniedCommands', action: 'kill', evidence: { count: 3, limit: 3, mode: 'exec', scope: 'grant', sessionsEnded: [start.sessionId] } });
    expect((found?.data.evidence as { commands: { command: string }[] }).commands.map((c) => c.command)).toEqual(['rm -rf /etc/passwd', 'rm -rf /var/log', 'rm -rf /tmp/evidence']);
    const end = await until(async () => (await h.events('session.end')).find((e) => e.sessionId === start.sessionId));
    expect(end.data.reason).toBe('anomaly');
    const third = denied[2] as AuditEvent;
    expect(ms(third, found as AuditEvent)).toBeLessThan(budget());
    expect(ms(third, end)).toBeLessThan(budget());
    // The kill leaves a review item for a human.
    expect((await h.broker.store.getGrant(g.id))?.reviewRequired).toBe(true);
    expect((await h.broker.store.getGrant(g.id))?.state).toBe('active');
  });

  it('counts interactive denials per session: the third `rm` typed in the shell ends it', async () => {
    const h = await startHarness(scope, { templateFields: only({ deniedCommands: { count: 3, within: '1m', action: 'kill' } }) });
    await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    for (const n of [1, 2, 3]) {
      const mark = pty.mark();
      pty.write(`rm -rf /tmp/attempt-${n}\r`);
      if (n < 3) await pty.waitFor(PROMPT, 5_000, mark + 20);
    }
    expect(await pty.exited).toBe(255);
    const denied = await h.events('command.denied');
    expect(denied.map((e) => [e.data.mode, e.sessionId])).toEqual([1, 2, 3].map(() => ['interactive', start.sessionId]));
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'deniedCommands', action: 'kill', evidence: { scope: 'session', mode: 'interactive', sessionsEnded: [start.sessionId] } });
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('anomaly');
    expect(ms(denied[2] as AuditEvent, end)).toBeLessThan(budget());
  });

  it('does not fire below the count, and alerts without ending anything', async () => {
    const h = await startHarness(scope, { templateFields: only({ deniedCommands: { count: 3, within: '1m', action: 'alert' } }) });
    const g = await h.grant({ targets: ['sandbox'] });
    const t = h.target('alice', 'alice:sandbox');
    await runSsh(scope, t, 'rm /a');
    await runSsh(scope, t, 'rm /b');
    await h.broker.events.settled();
    expect(await h.events('anomaly.detected')).toHaveLength(0);
    lag.reset();
    await runSsh(scope, t, 'rm /c');
    const a = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(a.data).toMatchObject({ detector: 'deniedCommands', action: 'alert' });
    expect(a.severity).toBe('critical');
    expect(ms((await h.events('command.denied'))[2] as AuditEvent, a)).toBeLessThan(budget());
    const ok = await runSsh(scope, t, 'echo still here');
    expect(ok.stdout.toString()).toBe('still here\n');
    expect((await h.broker.store.getGrant(g.id))?.reviewRequired).toBe(false);
  });
});

describe('dangerousCommands', () => {
  it('unset HISTFILE (denied by policy) kills the responder\'s live shell within 100 ms', async () => {
    const h = await startHarness(scope, { templateFields: only({ dangerousCommands: { action: 'kill' } }) });
    await h.grant({ targets: ['sandbox'] });
    const { pty, start } = await shell(h);
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'unset HISTFILE');
    expect(r.code).toBe(126);
    expect(await pty.exited).toBe(255);
    expect(pty.output).toContain('[gatehouse] session ended by the broker: dangerous command (history-unset): unset HISTFILE');
    const denied = (await h.events('command.denied'))[0] as AuditEvent;
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'dangerousCommands', action: 'kill', evidence: { command: 'unset HISTFILE', decision: 'denied', patterns: [{ id: 'history-unset', category: 'history' }] } });
    const end = await until(async () => (await h.events('session.end')).find((e) => e.sessionId === start.sessionId));
    expect(end.data.reason).toBe('anomaly');
    expect(ms(denied, found)).toBeLessThan(budget());
    expect(ms(denied, end)).toBeLessThan(budget());
  });

  it('an allowed history-off command revokes the grant; the running exec ends within 100 ms', async () => {
    const h = await startHarness(scope, { templateFields: only({ dangerousCommands: { action: 'revoke' } }), commands: { allow: [...TEST_RULES.allow, 'set *'] } });
    const g = await h.grant({ targets: ['sandbox'] });
    lag.reset();
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'set +o history; sleep 30');
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(`grant ${g.id} was revoked by gatehouse: anomaly: dangerous command (history-off): set +o history; sleep 30`);
    const allowed = (await h.events('command.allowed'))[0] as AuditEvent;
    const revoked = await until(async () => (await h.events('grant.revoked'))[0]);
    expect(revoked.actor).toBe('gatehouse');
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('revoked');
    expect(ms(allowed, revoked)).toBeLessThan(budget());
    expect(ms(allowed, end)).toBeLessThan(budget());
    const after = await h.broker.store.getGrant(g.id);
    expect(after).toMatchObject({ state: 'revoked', endedBy: 'gatehouse', reviewRequired: true });
    // A revoked grant opens nothing more.
    expect((await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi')).code).toBe(255);
  });

  it('alerts on an allowed `history -c` and lets the session finish normally', async () => {
    const h = await startHarness(scope, { templateFields: only({ dangerousCommands: { action: 'alert' } }), commands: { allow: [...TEST_RULES.allow, 'history *'] } });
    const g = await h.grant({ targets: ['sandbox'] });
    lag.reset();
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'history -c; echo done');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('done\n');
    const found = await until(async () => (await h.events('anomaly.detected'))[0]);
    expect(found.data).toMatchObject({ detector: 'dangerousCommands', action: 'alert', evidence: { decision: 'allowed', mode: 'exec' } });
    expect(ms((await h.events('command.allowed'))[0] as AuditEvent, found)).toBeLessThan(budget());
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('exit');
    expect((await h.broker.store.getGrant(g.id))?.state).toBe('active');
  });
});
