/**
 * SSM targets through the whole broker: the real OpenSSH client → Gatehouse → SSM connector →
 * the protocol-faithful simulator → bash. Same grants, same inspection of exec commands, same
 * recording shape, same kill, and TerminateSession on AWS's side when Gatehouse ends a session.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSsmSimulator, DEFAULT_SIM_INSTANCE_ID, type SsmSimulator } from '../../src/connectors/ssm/simulator/index.js';
import { readCast } from '../../src/recording/reader.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { sleep, testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';

const scope = testScope();
const PROMPT = /\$ $/;

async function setup(expect?: Record<string, unknown>, sshd?: Sshd): Promise<{ h: Harness; sim: SsmSimulator; calls: (op: string) => Record<string, unknown>[] }> {
  const sim = await startSsmSimulator({ instances: [{ instanceId: DEFAULT_SIM_INSTANCE_ID, tags: { env: 'prod', team: 'web' } }] });
  scope.defer(() => sim.close());
  const seen: Record<string, Record<string, unknown>[]> = {};
  for (const op of ['start', 'terminate', 'describe']) sim.events.on(op, (e: Record<string, unknown>) => (seen[op] ??= []).push(e));
  const h = await startHarness(scope, {
    ...(sshd && { sshd }),
    targets: [{ name: 'ssm-1', ssm: { instanceId: DEFAULT_SIM_INSTANCE_ID, region: 'us-east-1', endpoint: sim.endpoint, ...(expect && { expect }) }, labels: { env: 'prod' } }],
    extra: { ssm: { credentials: { accessKeyId: 'AKIDGATEHOUSETEST', secretAccessKey: 'not-a-secret' } } },
  });
  return { h, sim, calls: (op) => seen[op] ?? [] };
}

describe('SSM targets through the gateway', () => {
  it('interactive shell: prompt, resize, Ctrl-C, exit; recorded like an SSH session', async () => {
    const { h } = await setup();
    await h.grant({ targets: ['ssm-1'] });
    const t = new PtySsh(scope, h.target('alice', 'alice:ssm-1'), { cols: 100, rows: 30 });
    await t.waitFor(PROMPT);
    let mark = t.mark();
    t.write('stty size\r');
    await t.waitFor('30 100', 5_000, mark);
    t.resize(132, 43);
    await new Promise((r) => setTimeout(r, 300));
    mark = t.mark();
    t.write('stty size\r');
    await t.waitFor('43 132', 5_000, mark);
    mark = t.mark();
    t.write('sleep 100; echo after\r');
    await new Promise((r) => setTimeout(r, 300));
    t.write('\x03');
    await t.waitFor(PROMPT, 5_000, mark + 5);
    expect(t.output.slice(mark)).not.toMatch(/\nafter/);
    t.write('exit\r');
    await t.exited;
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('exit');
    const rec = await h.broker.store.getRecording(String(end.sessionId));
    const cast = await readCast(join(h.dir, 'recordings', String(rec?.path)));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, user: 'alice', target: 'ssm-1', kind: 'shell' });
    expect(new Set(cast.events.map((e) => e[1]))).toEqual(new Set(['o', 'i', 'r', 'm']));
    expect(cast.events.filter((e) => e[1] === 'm').map((e) => e[2])).toContain('allow: stty size');
    expect(cast.events.some((e) => e[1] === 'r' && e[2] === '132x43')).toBe(true);
  });

  it('records an SSM session in the same shape as an SSH session through the same broker', async () => {
    const { h } = await setup(undefined, await startSshd(scope));
    await h.grant({ targets: ['ssm-1', 'web-1'] });
    const keys = (o: object): string[] => Object.keys(o).sort();

    /** The same interactive session on `target`: resize, one inspected command, exit. */
    async function recordOn(target: string) {
      const t = new PtySsh(scope, h.target('alice', `alice:${target}`), { cols: 100, rows: 30 });
      await t.waitFor(/[#$] $/);
      t.resize(120, 40);
      await sleep(300);
      const mark = t.mark();
      t.write('stty size\r');
      await t.waitFor('40 120', 5_000, mark);
      // Typed only once the prompt is back: a line typed ahead shares its screen line with the
      // prompt printed after it ("exitroot@host:~# exit"), which inspection refuses to guess at.
      await t.waitFor(/40 120\r\n[^]*[#$] $/, 5_000, mark);
      t.write('exit\r');
      await t.exited;
      const end = await until(async () => (await h.events('session.end')).find((e) => e.target === target));
      const closed = await until(async () => (await h.events('recording.closed')).find((e) => e.sessionId === end.sessionId));
      const start = (await h.events('session.start')).find((e) => e.sessionId === end.sessionId);
      const rec = await h.broker.store.getRecording(String(end.sessionId));
      const cast = await readCast(join(h.dir, 'recordings', String(rec?.path)));
      expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, user: 'alice', target, session_id: end.sessionId, grant_id: end.grantId });
      expect(end.grantId).toEqual(expect.any(String));
      expect(end.data.reason).toBe('exit');
      return {
        header: keys(cast.header),
        kinds: [...new Set(cast.events.map((e) => e[1]))].sort(),
        markers: cast.events.filter((e) => e[1] === 'm').map((e) => e[2]),
        resizes: cast.events.filter((e) => e[1] === 'r').map((e) => e[2]),
        start: { event: keys(start ?? {}), data: keys(start?.data ?? {}), kind: start?.data.kind },
        end: { event: keys(end), data: keys(end.data) },
        closed: { event: keys(closed), data: keys(closed.data), truncated: closed.data.truncated },
      };
    }

    const ssh = await recordOn('web-1');
    const ssm = await recordOn('ssm-1');
    expect(ssh.kinds).toEqual(['i', 'm', 'o', 'r']);
    expect(ssh.markers).toEqual(['allow: stty size', 'allow: exit']);
    expect(ssh.resizes).toEqual(['120x40']);
    expect(ssh.start.kind).toBe('shell');
    expect(ssh.closed.truncated).toBe(false);
    expect(ssm).toEqual(ssh);
  });

  it('exec runs through AWS-StartInteractiveCommand', async () => {
    const { h, calls } = await setup();
    await h.grant({ targets: ['ssm-1'] });
    const r = await runSsh(scope, h.target('alice', 'alice:ssm-1'), 'echo hello-from-ssm');
    expect(r.stdout.toString()).toContain('hello-from-ssm');
    expect(calls('start').at(-1)).toMatchObject({ documentName: 'AWS-StartInteractiveCommand', parameters: { command: ['echo hello-from-ssm'] } });
  });

  it('enforces the command policy exactly as for SSH targets: the simulator never sees a denied line', async () => {
    const { h, calls } = await setup();
    await h.grant({ targets: ['ssm-1'] });
    const r = await runSsh(scope, h.target('alice', 'alice:ssm-1'), 'rm -rf /tmp/important');
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/^gatehouse: command denied: rm -rf \/tmp\/important \(matches deny rule "rm \*"\)/);
    expect(calls('start')).toHaveLength(0);
    const denied = await until(async () => (await h.events('command.denied'))[0]);
    expect(denied.data.command).toBe('rm -rf /tmp/important');
  });

  it('expiry ends the session and the simulator sees TerminateSession', async () => {
    const { h, calls } = await setup();
    const g = await h.grant({ targets: ['ssm-1'], duration: 2_500 });
    const t = new PtySsh(scope, h.target('alice', 'alice:ssm-1'));
    await t.waitFor(PROMPT);
    expect(await t.exited).toBe(255);
    expect(t.output).toContain(`grant ${g.id} expired`);
    const term = await until(() => calls('terminate')[0]);
    expect(term).toMatchObject({ known: true });
    expect(calls('start')).toHaveLength(1);
    expect(term.sessionId).toBe(calls('start')[0]?.sessionId);
  });

  it('refuses an instance that does not match the inventory, with an event', async () => {
    const { h, calls } = await setup({ tags: { env: 'staging' } });
    await h.grant({ targets: ['ssm-1'] });
    const r = await runSsh(scope, h.target('alice', 'alice:ssm-1'), 'echo hi');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/gatehouse: .*tags do not match: env=staging/);
    expect(calls('start')).toHaveLength(0);
    const refused = await until(async () => (await h.events('session.refused'))[0]);
    expect(refused.data.error).toBe('GH_ERR_INVENTORY');
  });
});
