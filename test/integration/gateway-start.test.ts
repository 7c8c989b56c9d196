/**
 * What can go wrong while a session starts: the grant is revoked while an exec command waits for
 * review (before the watchdog knows the session), and the recording cannot be written (strict
 * recording refuses or ends the session; best-effort carries on). Real OpenSSH client → Gatehouse
 * → a local bash target.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { sharedThread } from '../../src/recording/thread-port.js';
import { startHarness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();

describe('a revoke while the session is starting', () => {
  it('ends an exec command held for review before it runs, even when the review is then approved', async () => {
    const h = await startHarness(scope, { commands: { review: ['touch *'] } });
    const g = await h.grant({ targets: ['sandbox'] });
    const marker = join(h.dir, 'marker');
    const run = runSsh(scope, h.target('alice', 'alice:sandbox'), `touch ${marker}`);
    const review = await until(async () => (await h.events('command.review'))[0], 10_000, 'the command held for review');
    await h.broker.grants.revoke('bob', g.id, 'incident closed');
    // The watcher approves after the revoke, over gRPC like `gatehouse sessions approve-command`
    // (the held exec session has no row yet: the review event names it).
    const bob = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.bob?.token });
    scope.defer(() => bob.close());
    await bob.call('decideCommand', { sessionId: review.sessionId, approve: true, note: '' });
    const r = await run;
    const why = `grant ${g.id} for sandbox was revoked by bob: incident closed`;
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^\[gatehouse\] waiting up to 300 s for a watcher to approve: /);
    expect(lines.slice(1)).toEqual(['[gatehouse] approved by bob', `gatehouse: refused: ${why}`, '']);
    expect(r.code).toBe(255);
    expect(r.stdout.length).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const refused = await until(async () => (await h.events('session.refused')).at(-1));
    expect(refused.sessionId).toBe(review.sessionId);
    expect(refused.data).toEqual({ error: 'GH_ERR_SESSION_STATE', message: `ended (revoked) before it started: ${why}` });
    expect(await h.events('session.start')).toHaveLength(0);
    expect(await h.events('command.allowed')).toHaveLength(0);
  });
});

describe('recordings that cannot be written', () => {
  /** A recordings directory that even root cannot create: its path runs through a regular file. */
  async function blockRecordings(dir: string): Promise<void> {
    await rm(join(dir, 'rec'), { recursive: true, force: true });
    await writeFile(join(dir, 'rec'), 'a file where the recordings directory should be\n');
  }

  it('strict: a session whose recording cannot be opened is refused, and the responder is told why', async () => {
    const h = await startHarness(scope, { recordings: { dir: 'rec', mode: 'strict' } });
    await h.grant({ targets: ['sandbox'] });
    await blockRecordings(h.dir);
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi');
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toMatch(/^gatehouse: refused: the session cannot be recorded \(ENOTDIR: [^\n]*\); strict recording refuses it\n$/);
    expect(r.code).toBe(255);
    const refused = await until(async () => (await h.events('session.refused')).at(-1));
    expect(refused.data.error).toBe('GH_ERR_RECORDING');
    expect(await h.events('session.start')).toHaveLength(0);
  });

  it('best-effort: the same session runs, unrecorded', async () => {
    const h = await startHarness(scope, { recordings: { dir: 'rec', mode: 'best-effort' } });
    await h.grant({ targets: ['sandbox'] });
    await blockRecordings(h.dir);
    const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi');
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe('hi\n');
    expect(r.code).toBe(0);
    const start = await until(async () => (await h.events('session.start'))[0]);
    expect(start.data.recording).toBeNull();
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(await h.events('session.refused')).toHaveLength(0);
  });

  it('strict: a session whose recording fails midway is ended with reason recording-failed', async () => {
    const h = await startHarness(scope, { recordings: { mode: 'strict' } });
    await h.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { command: 'echo started; sleep 30' });
    await t.waitFor('started');
    await until(async () => (await h.events('session.start')).length > 0);
    // The recording thread dies (what an out-of-memory abort or a crash in it would do): every
    // recording it held fails at once. The fault is real; only its trigger is the test's.
    await (sharedThread() as unknown as { worker: Worker }).worker.terminate();
    await t.waitFor('[gatehouse] the session recording could not be written; strict recording ends the session');
    expect(await t.exited).toBe(255);
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data).toMatchObject({ reason: 'recording-failed', message: 'the session recording could not be written; strict recording ends the session' });
    const failed = await h.events('recording.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data.error).toMatch(/^the recording thread failed: the recording thread exited/);
  });
});
