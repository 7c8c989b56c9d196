/** Interactive sessions: the real OpenSSH client in a PTY, through the broker, into a real sshd's bash. */
import { describe, expect, it } from 'vitest';
import { readCast } from '../../src/recording/reader.js';
import { startHarness } from '../fixtures/harness.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';
import { startSshd } from '../fixtures/sshd.js';
import { join } from 'node:path';

const files = fileScope();
const scope = testScope();
const PROMPT = /[#$] $/;

describe('interactive shell through the gateway', () => {
  it('gives a PTY of the client size, follows resizes, delivers Ctrl-C, and exits cleanly', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const t = new PtySsh(scope, h.target('alice', 'alice:web-1'), { cols: 100, rows: 30 });
    await t.waitFor(PROMPT);

    let mark = t.mark();
    t.write('stty size\r');
    await t.waitFor('30 100', 5_000, mark);

    t.resize(120, 40);
    await new Promise((r) => setTimeout(r, 200));
    mark = t.mark();
    t.write('stty size\r');
    await t.waitFor('40 120', 5_000, mark);

    mark = t.mark();
    t.write('sleep 100; echo after-sleep\r');
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    t.write('\x03');
    await t.waitFor(PROMPT, 5_000, mark + 10);
    expect(Date.now() - sent).toBeLessThan(2_000);
    expect(t.output.slice(mark)).not.toMatch(/\nafter-sleep/);

    t.write('exit 0\r');
    expect(await t.exited).toBe(0);
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data).toMatchObject({ reason: 'exit', exitCode: 0 });

    const rec = await h.broker.store.getRecording(String(end.sessionId));
    expect(rec?.state).toBe('closed');
    const cast = await readCast(join(h.dir, 'recordings', String(rec?.path)));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, user: 'alice', target: 'web-1', session_id: end.sessionId, grant_id: end.grantId });
    const codes = new Set(cast.events.map((e) => e[1]));
    expect(codes).toEqual(new Set(['o', 'i', 'r', 'm']));
    expect(cast.events.filter((e) => e[1] === 'm').map((e) => e[2])).toContain('allow: stty size');
    expect(cast.events.some((e) => e[1] === 'r' && e[2] === '120x40')).toBe(true);
    expect(cast.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toContain('40 120');
    expect(cast.events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toContain('stty size\r');
  });

  it('runs a local PTY target (node-pty) the same way', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { cols: 90, rows: 20 });
    await t.waitFor(PROMPT);
    const mark = t.mark();
    t.write('stty size; tty\r');
    await t.waitFor(/20 90\r\n\/dev\/pts\/\d+/, 5_000, mark);
    t.write('exit 3\r');
    expect(await t.exited).toBe(3);
  });

  it('clamps absurd PTY sizes instead of failing', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { cols: 5000, rows: 3000 });
    await t.waitFor(PROMPT);
    const mark = t.mark();
    t.write('stty size\r');
    await t.waitFor('500 1000', 5_000, mark);
    t.resize(9999, 9999);
    await new Promise((r) => setTimeout(r, 100));
    const again = t.mark();
    t.write('stty size\r');
    await t.waitFor('500 1000', 5_000, again);
    t.write('exit\r');
    expect(await t.exited).toBe(0);
  });
});
