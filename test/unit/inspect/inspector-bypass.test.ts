/**
 * The inspector against ways around it: line-editor keys that run or hide a line, a shell that
 * runs a line no Enter was released for, full-screen mode entered or kept by a lying program, and
 * exec sessions whose program reaches a prompt. Fake screen and shell, manual clock.
 */
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../../src/policy/index.js';
import { rig, type Rig } from './rig.js';

const EDITORS = compileRules({ allow: ['vi *', 'less *', 'echo *', 'printf *'], deny: ['rm *'], review: [] });

/** Runs an allowed full-screen line and lets the program take over the screen. */
function enterFullScreen(r: Rig, line: string): void {
  r.type(`${line}\r`);
  r.settle();
  r.screen.altActive = true;
  r.insp.altScreen(true);
}

describe('Inspector: keys that would run a line past it', () => {
  it('refuses keyboard macros and insert-comment, tells the responder, reports each kind once', () => {
    const r = rig();
    r.type('\x18(');
    r.type('\x18(');
    r.type('#rm x');
    r.type('\x1b1\x1b#');
    expect(r.upstream()).toBe('\x18\x07\x18\x07#rm x\x1b1\x1b\x07');
    const told = r.client.join('');
    expect(told).toContain('[gatehouse] refused Ctrl-X (: keyboard macros replay keys');
    expect(told).toContain('[gatehouse] refused Esc #: insert-comment accepts the line');
    expect(r.anomalies).toEqual(['refused-key', 'refused-key']);
    expect(r.judged).toEqual([]);
  });

  it('turns Ctrl-V Ctrl-J into a plain Enter: the line is judged as shown, no hidden line break', () => {
    const r = rig();
    r.type('rm x #');
    r.type('\x16\n');
    r.settle();
    // The quote was finished with a space and a Backspace; the Enter was judged and denied.
    expect(r.upstream()).toBe('rm x #\x16 \x7f\x03');
    expect(r.judged).toEqual([['deny', 'rm x #']]);
  });

  it('drops a paste while the line editor may be in vi command mode (its keys would be commands)', () => {
    const r = rig();
    r.type('ls');
    r.type('\x1b');
    r.type('\x1b[200~echo v#\x1b[201~');
    expect(r.upstream()).not.toContain('echo');
    expect(r.client.join('')).toContain('paste while the line editor may be in vi command mode');
  });
});

describe('Inspector: shell-integration marks as a check on itself', () => {
  function integrated(): Rig {
    const r = rig({ setup: true });
    r.insp.setupDone('n0nce');
    r.insp.mark('B;gh=n0nce');
    return r;
  }

  it('ends the session when the shell starts a command no released Enter accounts for', () => {
    const r = integrated();
    r.type('ls\r');
    r.settle();
    r.insp.mark('C;gh=n0nce');
    r.insp.mark('D;0;gh=n0nce');
    r.insp.mark('B;gh=n0nce');
    // An empty line: released, no command runs, a new prompt.
    r.type('\r');
    r.settle();
    r.insp.mark('B;gh=n0nce');
    expect(r.breaches).toEqual([]);
    r.insp.mark('C;gh=n0nce');
    expect(r.breaches).toEqual([['unjudged-command', 'the shell ran a command that was not inspected (a key binding or macro?)']]);
    // Nothing more reaches the target.
    const before = r.upstream();
    r.type('echo x\r');
    r.settle();
    expect(r.upstream()).toBe(before);
  });

  it('counts type-ahead released while a command ran, and continuation lines, as Enters', () => {
    const r = integrated();
    r.type('cat x\r');
    r.settle();
    r.insp.mark('C;gh=n0nce');
    // Typed while `cat x` runs: both lines are released, the shell reads them after its prompt.
    r.type('ls a\r');
    r.settle();
    r.type('ls b\r');
    r.settle();
    r.insp.mark('D;0;gh=n0nce');
    for (const _ of ['ls a', 'ls b']) {
      r.insp.mark('B;gh=n0nce');
      r.insp.mark('C;gh=n0nce');
      r.insp.mark('D;0;gh=n0nce');
    }
    r.insp.mark('B;gh=n0nce');
    r.type('echo "a\r');
    r.settle();
    r.type('b"\r');
    r.settle();
    r.insp.mark('C;gh=n0nce');
    expect(r.breaches).toEqual([]);
  });
});

describe('Inspector: full-screen mode', () => {
  it('is not entered for a list that merely names a full-screen program (another part printed the switch)', () => {
    const r = rig();
    enterFullScreen(r, "less f; printf '\\e[?1049h'");
    r.type('rm x\r');
    r.settle();
    expect(r.judged.at(-1)).toEqual(['deny', 'rm x']);
    expect(r.upstream()).not.toContain('rm x\r');
  });

  it('is left when readline switches bracketed paste on again (a pager that left the alternate screen on)', () => {
    const r = rig();
    enterFullScreen(r, 'less f');
    r.type('/needle\r');
    expect(r.upstream()).toBe('less f\r/needle\r');
    r.insp.pasteModeOn();
    r.type('rm x\r');
    r.settle();
    expect(r.judged).toEqual([['allow', 'less f'], ['deny', 'rm x']]);
  });

  it('is kept when an editor switches bracketed paste on itself', () => {
    const r = rig({ rules: EDITORS });
    enterFullScreen(r, 'vi f');
    r.insp.pasteModeOn();
    r.type(':wq\r');
    expect(r.upstream()).toBe('vi f\r:wq\r');
    expect(r.judged).toEqual([['allow', 'vi f']]);
  });

  it('is left at the shell-integration prompt mark (A)', () => {
    const r = rig({ setup: true, rules: EDITORS });
    r.insp.setupDone('n0nce');
    enterFullScreen(r, 'vi f');
    r.insp.mark('A;gh=n0nce');
    r.type('rm x\r');
    r.settle();
    expect(r.judged.at(-1)).toEqual(['deny', 'rm x']);
  });

  it('judges the whole line when a known prompt shows up after text left on the line', () => {
    const r = rig({ rules: EDITORS });
    enterFullScreen(r, 'less f');
    // The pager left garbage on the row; the shell drew its prompt after it.
    r.screen.setRow('XX$ ');
    r.type('echo hi');
    r.type('\r');
    r.settle();
    expect(r.judged.at(-1)).toEqual(['deny', 'XX$ echo hi']);
    expect(r.upstream()).toBe('less f\recho hi\x03');
  });
});

describe('Inspector: exec sessions with a terminal', () => {
  it('judges lines typed into the program (a pager reached through an allowed command)', () => {
    const r = rig();
    r.insp.programStarted('journalctl -u nginx');
    r.screen.setRow(':');
    r.screen.altActive = true;
    r.insp.altScreen(true);
    r.type('!rm x');
    r.type('\r');
    r.settle();
    expect(r.judged.at(-1)?.[0]).toBe('deny');
    expect(r.upstream()).not.toContain('\r');
  });

  it('steps aside for a full-screen program that is the exec command itself', () => {
    const r = rig({ rules: EDITORS });
    r.insp.programStarted('less /var/log/syslog');
    r.screen.altActive = true;
    r.insp.altScreen(true);
    r.type('/needle\r');
    expect(r.upstream()).toBe('/needle\r');
    expect(r.judged).toEqual([]);
  });
});
