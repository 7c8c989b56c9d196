/**
 * Exec (`ssh gatehouse 'LINE'`) seen from the target: the real OpenSSH client → Gatehouse → a
 * real sshd whose ForceCommand writes down every command it is asked to run before running it.
 * A denied line exits 126 naming the rule and never reaches the target (not even the allowed part
 * of it); a line held for review runs only after a watcher approves it with the real CLI
 * (`gatehouse sessions approve-command`), and never after `reject-command`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';

const files = fileScope();
const scope = testScope();

interface Target {
  readonly sshd: Sshd;
  /** Scratch directory for the markers the commands create. */
  readonly dir: string;
  /** Every command sshd was asked to run, one per line. */
  readonly seen: string;
}

async function target(): Promise<Target> {
  const dir = await files.tempDir('gh-policy-exec-');
  const seen = join(dir, 'seen.log');
  const sshd = await startSshd(files, `ForceCommand printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> ${seen}; eval "$SSH_ORIGINAL_COMMAND"`);
  return { sshd, dir, seen };
}

const seenBy = async (t: Target): Promise<string> => (existsSync(t.seen) ? readFile(t.seen, 'utf8') : '');

/** The `gatehouse` binary as a watcher runs it. */
const cli = (h: Harness, user: string, args: string[]): Promise<CliRun> => runCli(args, { GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users[user]?.token ?? '' });

describe('exec under the command policy, from the target side', () => {
  it('a denied line exits 126 naming the rule, and the target never sees any of it', async () => {
    const t = await target();
    const h = await startHarness(scope, { sshd: t.sshd });
    await h.grant();
    // The control: an allowed line reaches the target and runs.
    const ok = `mkdir ${t.dir}/allowed`;
    const first = await runSsh(scope, h.target('alice', 'alice:web-1'), ok);
    expect(first.code).toBe(0);
    expect(existsSync(join(t.dir, 'allowed'))).toBe(true);

    const line = `mkdir ${t.dir}/marker; rm ${t.dir}/y`;
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), line);
    expect(r.code).toBe(126);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toBe(`gatehouse: command denied: rm ${t.dir}/y (matches deny rule "rm *") (+1 more)\n`);
    expect(existsSync(join(t.dir, 'marker'))).toBe(false);
    expect(await seenBy(t)).toBe(`${ok}\n`);
    const denied = await until(async () => (await h.events('command.denied'))[0]);
    expect(denied.data).toMatchObject({
      command: line,
      mode: 'exec',
      reasons: [
        { command: `rm ${t.dir}/y`, rule: 'rm *' },
        { command: `mkdir ${t.dir}/marker`, rule: 'mkdir *' },
      ],
    });
  });

  it('a held line runs once a watcher runs `gatehouse sessions approve-command`, and never after `reject-command`', async () => {
    const t = await target();
    const h = await startHarness(scope, { sshd: t.sshd, commands: { review: ['touch *'] } });
    await h.grant();
    const approved = join(t.dir, 'approved');
    const pending = runSsh(scope, h.target('alice', 'alice:web-1'), `touch ${approved}`, { timeoutMs: 60_000 });
    const held = await until(async () => (await h.events('command.review'))[0], 15_000, 'the review');
    expect(existsSync(approved)).toBe(false);
    expect(await seenBy(t)).toBe('');
    const ok = await cli(h, 'bob', ['sessions', 'approve-command', String(held.sessionId), '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ sessionId: held.sessionId, command: `touch ${approved}`, outcome: 'approved', by: 'bob' });
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`[gatehouse] waiting up to 300 s for a watcher to approve: needs review: touch ${approved} (matches review rule "touch *")\n[gatehouse] approved by bob\n`);
    expect(existsSync(approved)).toBe(true);

    const rejected = join(t.dir, 'rejected');
    const pending2 = runSsh(scope, h.target('alice', 'alice:web-1'), `touch ${rejected}`, { timeoutMs: 60_000 });
    const held2 = await until(async () => (await h.events('command.review')).find((e) => e.data.command === `touch ${rejected}`), 15_000, 'the second review');
    // The responder cannot decide their own command.
    const self = await cli(h, 'alice', ['sessions', 'approve-command', String(held2.sessionId)]);
    expect(self.code).toBe(1);
    expect(self.stderr).toBe('gatehouse: alice needs one of the roles: watcher, admin\n');
    const no = await cli(h, 'bob', ['sessions', 'reject-command', String(held2.sessionId), '--note', 'not now']);
    expect(no).toEqual({ code: 0, stdout: `rejected: touch ${rejected}\n`, stderr: '' });
    const r2 = await pending2;
    expect(r2.code).toBe(126);
    expect(r2.stderr).toBe(`[gatehouse] waiting up to 300 s for a watcher to approve: needs review: touch ${rejected} (matches review rule "touch *")\ngatehouse: command rejected by bob: not now\n`);
    expect(existsSync(rejected)).toBe(false);
    expect(await seenBy(t)).toBe(`touch ${approved}\n`);
    expect((await h.events('command.reviewed')).map((e) => [e.data.command, e.data.outcome, e.data.by, e.data.note])).toEqual([
      [`touch ${approved}`, 'approved', 'bob', null],
      [`touch ${rejected}`, 'rejected', 'bob', 'not now'],
    ]);
  });
});
