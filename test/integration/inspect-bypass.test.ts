/**
 * Interactive inspection against ways around it, end to end (real OpenSSH client in a PTY →
 * Gatehouse → real sshd → bash): line-editor keys that run or hide a line without a judged Enter
 * (keyboard macros, insert-comment with a count, shell-expand-line, a quoted line break, vi `#`),
 * a fake alternate screen after a line that names a full-screen program, a command the shell runs
 * that no released Enter accounts for (shell integration ends the session), and a pager reached
 * from an exec session with a terminal. A marker file that must survive proves nothing ran.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';
import { openShell, type Shell } from './inspect-helpers.js';

const files = fileScope();
const scope = testScope();
let sshd: Sshd | undefined;
const target = async (): Promise<Sshd> => (sshd ??= await startSshd(files));

/** A file the test's denied commands would remove. */
async function keepFile(s: Shell): Promise<string> {
  const keep = join(s.dir, 'keep');
  await writeFile(keep, 'x');
  return keep;
}

/** Types each chunk as its own write, waiting for `after` (when given) before the next. */
async function keys(s: Shell, chunks: (string | { wait: string })[]): Promise<number> {
  const from = s.t.mark();
  for (const c of chunks) {
    if (typeof c === 'string') {
      s.t.write(c);
      await new Promise((r) => setTimeout(r, 150));
    } else await s.t.waitFor(c.wait, 5_000, from);
  }
  return from;
}

describe('interactive inspection: line-editor keys that would run a line past it', () => {
  it('refuses keyboard macros, insert-comment with a count and shell-expand-line; nothing runs', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = await keepFile(s);
    // A macro holding an Enter, replayed after a denied command is typed (C-x e runs it unjudged).
    let from = await keys(s, ['\x18(', 'x\x7f\r', '\x18)', `rm -f ${keep}`, '\x18e', { wait: '[gatehouse] refused Ctrl-X e' }, '\x03']);
    expect(s.t.output.slice(from)).toContain('[gatehouse] refused Ctrl-X (: keyboard macros replay keys');
    await s.prompt(s.t.output.lastIndexOf('^C'));
    // insert-comment with a count uncomments the line and accepts it.
    from = await keys(s, [`#rm -f ${keep}`, '\x1b1\x1b#', { wait: '[gatehouse] refused Esc #' }, '\x03']);
    await s.prompt(s.t.output.lastIndexOf('^C'));
    // shell-expand-line runs the command substitution while expanding.
    from = await keys(s, [`echo $(rm -f ${keep})`, '\x1b\x05', { wait: '[gatehouse] refused Esc Ctrl-E' }, '\x03']);
    await s.prompt(s.t.output.lastIndexOf('^C'));
    from = await s.run('echo still-here');
    await s.t.waitFor('still-here\r\n', 5_000, from);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([['command.allowed', 'echo still-here']]);
    const refused = (await s.events('anomaly.detected')).map((e) => [e.data.detector, e.data.action, (e.data.evidence as { key: string }).key]);
    expect(refused).toEqual([
      ['refused-key', 'alert', 'Ctrl-X ('],
      ['refused-key', 'alert', 'Ctrl-X )'],
      ['refused-key', 'alert', 'Ctrl-X e'],
      ['refused-key', 'alert', 'Esc #'],
      ['refused-key', 'alert', 'Esc Ctrl-E'],
    ]);
  });

  it('makes Ctrl-V Ctrl-J an Enter: the line shown is the line judged (no hidden second line)', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = await keepFile(s);
    const from = await keys(s, [`rm -f ${keep} #`, '\x16\n', { wait: '[gatehouse] denied' }]);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    await s.run('echo ok');
    expect(s.t.output.slice(from)).toContain(`[gatehouse] denied: rm -f ${keep} (matches deny rule "rm *")`);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.denied', `rm -f ${keep} #`],
      ['command.allowed', 'echo ok'],
    ]);
  });

  it('refuses `#` in vi command mode (with a count it would uncomment and run the line)', async () => {
    const s = await openShell(scope, { sshd: await target(), allow: ['set -o vi'] });
    const keep = await keepFile(s);
    await s.run('set -o vi');
    const from = await keys(s, [`#rm -f ${keep}`, '\x1b', '1#', { wait: '[gatehouse] refused #' }, '\x03']);
    await s.prompt(s.t.output.lastIndexOf('^C'));
    expect(s.t.output.slice(from)).toContain('in vi command mode it accepts the line without an Enter');
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([['command.allowed', 'set -o vi']]);
  });
});

describe('interactive inspection: full-screen mode and shell-integration marks', () => {
  it('stays on after a fake alternate screen printed by a line that also names a full-screen program', async () => {
    const s = await openShell(scope, { sshd: await target(), allow: ['top *'] });
    const keep = await keepFile(s);
    await s.run(`top -b -n 1 >/dev/null; printf '\\033[?1049hXX'`);
    const from = await s.run(`rm -f ${keep}`);
    expect(s.t.output.slice(from)).toContain(`[gatehouse] denied: rm -f ${keep}`);
    expect(existsSync(keep)).toBe(true);
    expect((await s.commands()).map((c) => c[0])).toEqual(['command.allowed', 'command.denied']);
  });

  it('ends the session when the shell starts a command no released Enter accounts for', async () => {
    const s = await openShell(scope, { sshd: await target(), shellIntegration: true });
    await s.run('echo ready');
    // The shell's own command-start mark, printed a second time: as if a key binding had run a line.
    s.t.write('printf "$PS0"\r');
    expect(await s.t.exited).toBe(255);
    expect(s.t.output).toContain('session ended by the broker: the shell ran a command that was not inspected');
    const kill = await until(async () => (await s.events('anomaly.detected'))[0]);
    expect(kill.data).toMatchObject({ detector: 'unjudged-command', action: 'kill' });
    const end = await until(async () => (await s.events('session.end'))[0]);
    expect(end.data.reason).toBe('anomaly');
    // As a detector's kill: the grant is flagged for an approver's review.
    expect((await s.h.broker.store.getGrant(String(end.grantId)))?.reviewRequired).toBe(true);
  });
});

describe('exec sessions with a terminal', () => {
  it('judges lines typed into a pager the exec command opened: `!cmd` in less is denied', async () => {
    const s = await openShell(scope, {
      sshd: await target(),
      allow: (dir) => [`bash ${dir}/pager.sh`],
      exec: async (dir) => {
        await writeFile(join(dir, 'pager.sh'), 'seq 1 500 | less\n');
        return `bash ${dir}/pager.sh`;
      },
    });
    const keep = await keepFile(s);
    await s.t.waitFor('1\r\n2\r\n3\r\n', 10_000);
    const from = s.t.mark();
    s.t.write(`!rm -f ${keep}`);
    await s.t.waitFor('e\be\x1b[Kp\bp', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    s.t.write('q');
    expect(await s.t.exited).toBe(0);
    expect(existsSync(keep)).toBe(true);
    const cmds = await s.commands();
    expect(cmds[0]).toEqual(['command.allowed', `bash ${s.dir}/pager.sh`]);
    expect(cmds[1]?.[0]).toBe('command.denied');
    const modes = (await s.events('command.denied')).map((e) => e.data.mode);
    expect(modes).toEqual(['interactive']);
  });
});
