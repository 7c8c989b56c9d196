/**
 * The order of an anomaly kill (docs/anomalies.md "Actions"): the upstream is closed first, then the
 * responder is told why. The target here is a wrapper that ignores SIGHUP around the interactive
 * shell, so closing it takes the local connector's SIGKILL grace (1 s): if the notice went out
 * before the close finished, the responder would read it while the target process still runs.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;
const NOTICE = '[gatehouse] session ended by the broker: 1 commands denied within';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('anomaly kill order', () => {
  it('the target process is gone by the time the responder reads why', async () => {
    const h = await startHarness(scope, {
      targets: [{ name: 'stubborn', local: { command: ['bash', '--norc', '--noprofile', '-c', "trap '' HUP; bash --norc --noprofile -i; sleep 30"] }, labels: { env: 'test' } }],
      templateFields: { anomaly: { deniedCommands: { count: 1, within: '1m', action: 'kill' }, dangerousCommands: null, outputVolume: null, newSource: null, outsideNetworks: null } },
    });
    await h.grant({ targets: ['stubborn'] });
    const pty = new PtySsh(scope, h.target('alice', 'alice:stubborn'));
    await pty.waitFor(PROMPT);
    // The wrapper (the PTY's process, which outlives the SIGHUP) is the shell's parent.
    pty.write('echo ppid=$PPID\r');
    const pid = Number((await pty.waitFor(/ppid=\d+/)).slice(5));
    expect(alive(pid)).toBe(true);

    const mark = pty.mark();
    pty.write('rm -rf /tmp/evidence\r');
    // Poll the terminal tightly and look at the target the moment the notice shows.
    let aliveAtNotice: boolean | null = null;
    const deadline = Date.now() + 10_000;
    while (aliveAtNotice === null && Date.now() < deadline) {
      if (pty.output.slice(mark).includes(NOTICE)) aliveAtNotice = alive(pid);
      else await new Promise((r) => setTimeout(r, 2));
    }
    expect(aliveAtNotice).toBe(false);
    expect(await pty.exited).toBe(255);

    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data).toMatchObject({ reason: 'anomaly' });
    const found = (await h.events('anomaly.detected'))[0] as AuditEvent;
    expect(found.data).toMatchObject({ detector: 'deniedCommands', action: 'kill', evidence: { sessionsEnded: [end.sessionId] } });
    // The wrapper really held out for the grace: the case this test is about was exercised.
    expect(Date.parse(end.time) - Date.parse(found.time)).toBeGreaterThanOrEqual(900);
  });
});
