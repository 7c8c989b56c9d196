/**
 * The template's `maxSessions`, with the real OpenSSH client: a second concurrent session on a
 * grant limited to one is refused with GH_ERR_SESSION_LIMIT (one line to the responder,
 * `session.refused` in the audit trail, nothing run on the target), and allowed again once the
 * first has ended.
 */
import { describe, expect, it } from 'vitest';
import { startHarness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;

describe('maxSessions', () => {
  it('refuses a second concurrent session with GH_ERR_SESSION_LIMIT, and admits one after the first ends', async () => {
    const h = await startHarness(scope, { templateFields: { maxSessions: 1 } });
    const g = await h.grant({ targets: ['sandbox'] });
    const first = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
    await first.waitFor(PROMPT);
    await until(async () => (await h.events('session.start')).length === 1);

    const second = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo ran');
    expect(second.code).toBe(255);
    expect(second.stdout.toString()).toBe('');
    expect(second.stderr).toBe(`gatehouse: refused: grant ${g.id} already has its maximum of 1 concurrent session(s)\n`);
    const refused = await h.events('session.refused');
    expect(refused.map((e) => [e.user, e.grantId, e.data.error, e.data.message])).toEqual([['alice', g.id, 'GH_ERR_SESSION_LIMIT', `grant ${g.id} already has its maximum of 1 concurrent session(s)`]]);
    expect(await h.events('session.start')).toHaveLength(1);

    // The live one is untouched by the refusal.
    const mark = first.mark();
    first.write('echo first-alive\r');
    await first.waitFor('first-alive\r\n', 5_000, mark + 20);
    first.write('exit\r');
    expect(await first.exited).toBe(0);
    await until(async () => (await h.events('session.end')).length === 1);

    const later = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo later');
    expect([later.code, later.stdout.toString()]).toEqual([0, 'later\n']);
  });

  it('admits only one of several sessions that arrive at the same moment', async () => {
    const h = await startHarness(scope, { templateFields: { maxSessions: 1 } });
    await h.grant({ targets: ['sandbox'] });
    // Each session lives long enough that the others arrive while it is starting or running.
    const runs = await Promise.all(Array.from({ length: 4 }, () => runSsh(scope, h.target('alice', 'alice:sandbox'), 'sleep 1; echo ran')));
    expect(runs.map((r) => r.code).sort()).toEqual([0, 255, 255, 255]);
    expect(runs.filter((r) => r.stdout.toString() === 'ran\n')).toHaveLength(1);
    expect(await h.events('session.start')).toHaveLength(1);
    expect((await h.events('session.refused')).map((e) => e.data.error)).toEqual(['GH_ERR_SESSION_LIMIT', 'GH_ERR_SESSION_LIMIT', 'GH_ERR_SESSION_LIMIT']);
  });
});
