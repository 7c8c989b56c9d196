/**
 * Interactive lines held for review: the Enter waits until a watcher approves (then the line runs)
 * or rejects, or the review times out (then it is denied and never runs). Keys typed meanwhile
 * are dropped; Ctrl-C abandons. Real OpenSSH client → Gatehouse → real sshd → bash; the watcher
 * decides over gRPC like `gatehouse sessions approve-command`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';
import { openShell, type Shell } from './inspect-helpers.js';

const files = fileScope();
const scope = testScope();
let sshd: Sshd | undefined;
const target = async (): Promise<Sshd> => (sshd ??= await startSshd(files));

async function decide(s: Shell, approve: boolean, note = ''): Promise<void> {
  const review = await until(async () => {
    const held = await s.events('command.review');
    const done = new Set((await s.events('command.reviewed')).map((e) => e.data.reviewId));
    return held.find((e) => !done.has(e.data.reviewId));
  });
  const bob = connect({ server: `127.0.0.1:${s.h.broker.ports.grpc}`, token: s.h.users.bob?.token });
  scope.defer(() => bob.close());
  await bob.call('decideCommand', { sessionId: review.sessionId, approve, note });
}

describe('interactive inspection: review', () => {
  it('runs a held line once a watcher approves it, and never one the watcher rejects', async () => {
    const s = await openShell(scope, { sshd: await target(), review: ['touch *'] });
    const approved = join(s.dir, 'approved');
    const rejected = join(s.dir, 'rejected');
    let from = s.t.mark();
    s.t.write(`touch ${approved}\r`);
    await s.t.waitFor('[gatehouse] waiting up to 300 s for a watcher to approve', 5_000, from);
    // Keys typed while the line is held are dropped, and the responder is told so once.
    s.t.write('zzz');
    await s.t.waitFor('keystrokes are ignored', 5_000, from);
    expect(existsSync(approved)).toBe(false);
    await decide(s, true);
    await s.t.waitFor('[gatehouse] approved by bob', 5_000, from);
    await until(() => existsSync(approved));
    await s.prompt(s.t.output.lastIndexOf('approved by bob'));

    from = s.t.mark();
    s.t.write(`touch ${rejected}\r`);
    await s.t.waitFor('waiting up to', 5_000, from);
    await decide(s, false, 'not now');
    await s.t.waitFor(`[gatehouse] denied: touch ${rejected} (rejected by bob: not now)`, 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('not now'));
    from = await s.run('echo after-review');
    await s.t.waitFor('after-review\r\n', 5_000, from);
    expect(existsSync(rejected)).toBe(false);
    expect(s.t.output).not.toContain('zzz');
    expect(await s.commands()).toEqual([
      ['command.review', `touch ${approved}`],
      ['command.allowed', `touch ${approved}`],
      ['command.review', `touch ${rejected}`],
      ['command.denied', `touch ${rejected}`],
      ['command.allowed', 'echo after-review'],
    ]);
    expect((await s.events('command.reviewed')).map((e) => [e.data.outcome, e.data.by])).toEqual([
      ['approved', 'bob'],
      ['rejected', 'bob'],
    ]);
  });

  it('denies a held line when the review times out, and Ctrl-C abandons one', async () => {
    const s = await openShell(scope, { sshd: await target(), review: ['touch *'], reviewTimeout: '1s' });
    const late = join(s.dir, 'late');
    const abandoned = join(s.dir, 'abandoned');
    let from = s.t.mark();
    s.t.write(`touch ${late}\r`);
    await s.t.waitFor('no watcher approved it in time', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('in time'));
    from = s.t.mark();
    s.t.write(`touch ${abandoned}\r`);
    await s.t.waitFor('waiting up to 1 s', 5_000, from);
    s.t.write('\x03');
    await s.t.waitFor('[gatehouse] abandoned; it was not run', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('not run'));
    // The timeout of the abandoned review comes later and changes nothing.
    await until(async () => (await s.events('command.reviewed')).length === 2, 5_000);
    from = await s.run('echo after-timeout');
    await s.t.waitFor('after-timeout\r\n', 5_000, from);
    expect(existsSync(late)).toBe(false);
    expect(existsSync(abandoned)).toBe(false);
    expect(await s.commands()).toEqual([
      ['command.review', `touch ${late}`],
      ['command.denied', `touch ${late}`],
      ['command.review', `touch ${abandoned}`],
      ['command.denied', `touch ${abandoned}`],
      ['command.allowed', 'echo after-timeout'],
    ]);
  });
});
