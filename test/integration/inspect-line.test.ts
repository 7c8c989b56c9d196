/**
 * Interactive inspection of single lines: the real OpenSSH client in a PTY, through Gatehouse,
 * into the real sshd's bash. The judged line is what bash's line editor shows (completion,
 * history, editing, vi mode), a denied line never runs (marker files prove it), and the responder
 * is told why on their terminal.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';
import { openShell, PROMPT } from './inspect-helpers.js';

const files = fileScope();
const scope = testScope();
let sshd: Sshd | undefined;
const target = async (): Promise<Sshd> => (sshd ??= await startSshd(files));

describe('interactive inspection: one line at a time', () => {
  it('allows a line, and denies one without running it, telling the responder why', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = await s.run(`echo hello-$((6*7))`);
    await s.t.waitFor('hello-42', 5_000, from);
    from = await s.run(`rm -f ${keep}`);
    expect(s.t.output.slice(from)).toContain(`[gatehouse] denied: rm -f ${keep} (matches deny rule "rm *")`);
    expect(existsSync(keep)).toBe(true);
    // The shell is usable afterwards.
    from = await s.run(`echo after-$((1+1))`);
    await s.t.waitFor('after-2', 5_000, from);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo hello-$((6*7))'],
      ['command.denied', `rm -f ${keep}`],
      ['command.allowed', 'echo after-$((1+1))'],
    ]);
    s.t.write('exit\r');
    await s.t.exited;
    const rec = await s.recording();
    expect(rec.markers).toEqual(['allow: echo hello-$((6*7))', `deny: rm -f ${keep}`, 'allow: echo after-$((1+1))', 'allow: exit']);
    // The denied line's Enter never reached the target: the recorded input has no CR after it.
    expect(rec.input).toContain(`rm -f ${keep}`);
    expect(rec.input).not.toContain(`rm -f ${keep}\r`);
  });

  it('judges the line as completed by Tab, not the typed prefix', async () => {
    const s = await openShell(scope, { sshd: await target() });
    await writeFile(join(s.dir, 'unique-completion-target.log'), 'completed-content\n');
    let from = s.t.mark();
    s.t.write(`cat ${s.dir}/unique-compl\t`);
    await s.t.waitFor('unique-completion-target.log', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('completed-content', 5_000, from);
    await s.prompt(from + 1);
    // A completed denied line is denied, with its completed name.
    from = s.t.mark();
    s.t.write(`rm -f ${s.dir}/unique-compl\t`);
    await s.t.waitFor('unique-completion-target.log', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(from + 1);
    expect(existsSync(join(s.dir, 'unique-completion-target.log'))).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.allowed', `cat ${s.dir}/unique-completion-target.log`],
      ['command.denied', `rm -f ${s.dir}/unique-completion-target.log`],
    ]);
  });

  it('judges a line recalled from history (↑), and a denied one recalled is denied', async () => {
    const s = await openShell(scope, { sshd: await target(), allow: ['history -s *'] });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = await s.run('echo from-history');
    // Put a line the policy denies into bash's history (as an earlier session would have).
    from = await s.run(`history -s 'rm -f ${keep}'`);
    from = s.t.mark();
    s.t.write('\x1b[A');
    await s.t.waitFor(`rm -f ${keep}`, 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(from + 1);
    expect(existsSync(keep)).toBe(true);
    // Two steps back: the allowed echo, judged as recalled.
    from = s.t.mark();
    s.t.write('\x1b[A\x1b[A');
    await s.t.waitFor('echo from-history', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor(/\rfrom-history\r\n/, 5_000, from);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo from-history'],
      ['command.allowed', `history -s 'rm -f ${keep}'`],
      ['command.denied', `rm -f ${keep}`],
      ['command.allowed', 'echo from-history'],
    ]);
  });

  it('judges what the screen shows after editing (←, backspace, Ctrl-A/E/U/W, Ctrl-D), not the keystrokes', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    // Typed "echo rm -f KEEP", then Ctrl-A and five Ctrl-D delete "echo ": the line is rm.
    let from = s.t.mark();
    s.t.write(`echo rm -f ${keep}`);
    await s.t.waitFor(keep, 5_000, from);
    s.t.write('\x01\x04\x04\x04\x04\x04');
    await s.t.waitFor(/(\x1b\[1P){5}|\x1b\[5P/, 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(from + 1);
    expect(existsSync(keep)).toBe(true);
    // Typed "rm -f KEEP", Ctrl-U, then "echo abc", ←, ←, backspace, "X", Ctrl-E, " tail": echo Xbc tail.
    from = s.t.mark();
    s.t.write(`rm -f ${keep}`);
    await s.t.waitFor(keep, 5_000, from);
    s.t.write('\x15echo abc\x1b[D\x1b[D\x7fX\x05 tail');
    await s.t.waitFor('tail', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('Xbc tail\r\n', 5_000, from);
    await s.prompt(from + 1);
    // Ctrl-W deletes the last word: "echo one two" → "echo one three".
    from = s.t.mark();
    s.t.write('echo one two');
    await s.t.waitFor('two', 5_000, from);
    s.t.write('\x17three\r');
    await s.t.waitFor('one three\r\n', 5_000, from);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.denied', `rm -f ${keep}`],
      ['command.allowed', 'echo Xbc tail'],
      ['command.allowed', 'echo one three'],
    ]);
  });

  it('denies a line longer than the screen can show, saying so', async () => {
    const s = await openShell(scope, { sshd: await target(), cols: 30, rows: 6 });
    const long = `echo ${'x'.repeat(200)}`;
    const from = s.t.mark();
    s.t.write(long);
    await until(() => (s.t.output.slice(from).match(/x/g)?.length ?? 0) >= 200, 5_000, 'the echo');
    s.t.write('\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    expect(s.t.output.slice(from)).toContain('the command line is longer than the screen can show');
    expect(s.t.output.slice(from)).not.toMatch(/\rx{200}/);
    expect((await s.commands()).map((c) => c[0])).toEqual(['command.denied']);
  });

  it('Ctrl-C abandons a line: nothing judged, nothing recorded as a command', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = s.t.mark();
    s.t.write(`rm -f ${keep}`);
    await s.t.waitFor(keep, 5_000, from);
    s.t.write('\x03');
    await s.prompt(from + 1);
    from = await s.run('echo clean-after-ctrl-c');
    await s.t.waitFor('clean-after-ctrl-c\r\n', 5_000, from);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([['command.allowed', 'echo clean-after-ctrl-c']]);
  });

  it('reads the line in vi editing mode (edited in command mode) and denies there too', async () => {
    const s = await openShell(scope, { sshd: await target(), allow: ['set -o vi'] });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    await s.run('set -o vi');
    // "echo abc", ESC (command mode), b (back a word), cw (change word) "xyz", Enter.
    let from = s.t.mark();
    s.t.write('echo abc');
    await s.t.waitFor('abc', 5_000, from);
    s.t.write('\x1b');
    await new Promise((r) => setTimeout(r, 50)); // a lone ESC must not merge with the next key
    s.t.write('bcwxyz');
    await s.t.waitFor('xyz', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor('xyz\r\n', 5_000, from);
    await s.prompt(from + 1);
    // A denied line in vi command mode is wiped (Ctrl-C) and the shell goes on.
    from = s.t.mark();
    s.t.write(`rm -f ${keep}`);
    await s.t.waitFor(keep, 5_000, from);
    s.t.write('\x1b');
    await new Promise((r) => setTimeout(r, 50));
    s.t.write('0\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(from + 1);
    from = await s.run('echo vi-after');
    await s.t.waitFor('vi-after\r\n', 5_000, from);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'set -o vi'],
      ['command.allowed', 'echo xyz'],
      ['command.denied', `rm -f ${keep}`],
      ['command.allowed', 'echo vi-after'],
    ]);
  });
});
