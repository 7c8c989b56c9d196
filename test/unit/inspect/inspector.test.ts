/**
 * The inspector's state machine with a fake screen, a fake shell and a manual clock: what reaches
 * the target, what is judged, what the responder is told.
 */
import { describe, expect, it } from 'vitest';
import { MAX_SETTLE_MS } from '../../../src/inspect/inspector.js';
import { rig } from './rig.js';

describe('Inspector', () => {
  it('forwards keys at once, holds Enter, releases it for an allowed line', () => {
    const r = rig();
    r.type('ls -l');
    expect(r.upstream()).toBe('ls -l');
    r.type('\r');
    expect(r.upstream()).toBe('ls -l');
    r.settle();
    expect(r.upstream()).toBe('ls -l\r');
    expect(r.judged).toEqual([['allow', 'ls -l']]);
  });

  it('denies: drops the Enter and what followed it, sends Ctrl-C, tells the responder', () => {
    const r = rig();
    r.type('rm -rf /tmp/x\recho after\r');
    r.settle();
    expect(r.upstream()).toBe('rm -rf /tmp/x\x03');
    expect(r.judged).toEqual([['deny', 'rm -rf /tmp/x']]);
    expect(r.client.join('')).toContain('[gatehouse] denied: rm -rf /tmp/x (matches deny rule "rm *")');
    expect(r.client.join('')).toContain('11 bytes typed or pasted after it were dropped');
    // Fresh keys after the prompt is back are judged normally.
    r.type('echo ok\r');
    r.settle();
    expect(r.judged).toEqual([['deny', 'rm -rf /tmp/x'], ['allow', 'echo ok']]);
    expect(r.upstream()).toBe('rm -rf /tmp/x\x03echo ok\r');
  });

  it('judges pasted lines one by one, each after the prompt is back', () => {
    const r = rig();
    r.type('echo 1\recho 2\r');
    r.settle(600);
    expect(r.judged).toEqual([['allow', 'echo 1'], ['allow', 'echo 2']]);
    expect(r.upstream()).toBe('echo 1\recho 2\r');
  });

  it('splits a multi-line bracketed paste into one paste per line, each judged', () => {
    const r = rig();
    r.type('\x1b[200~echo a\nrm x\necho b\n\x1b[201~');
    r.settle(800);
    expect(r.judged).toEqual([['allow', 'echo a'], ['deny', 'rm x']]);
    expect(r.upstream()).toBe('\x1b[200~echo a\x1b[201~\r\x1b[200~rm x\x1b[201~\x03');
  });

  it('refuses a paste holding control characters', () => {
    const r = rig();
    r.type('\x1b[200~echo \x1b[31mred\x1b[201~');
    expect(r.upstream()).toBe('');
    expect(r.client.join('')).toContain('pasted text with control characters was dropped');
  });

  it('releases an incomplete line as a continuation and judges the whole command', () => {
    const r = rig();
    r.type('echo a \\\r');
    r.settle();
    expect(r.judged).toEqual([]);
    expect(r.upstream()).toBe('echo a \\\r');
    r.screen.setRow('> ');
    r.type('b\r');
    r.settle();
    expect(r.judged).toEqual([['allow', 'echo a \\\nb']]);
  });

  it('denies a line the target never echoed (echo off)', () => {
    const r = rig({ echo: false });
    r.type('rm -rf /');
    r.type('\r');
    r.settle(2_500);
    expect(r.upstream()).toBe('rm -rf /\x03');
    expect(r.judged[0]?.[0]).toBe('deny');
    expect(r.client.join('')).toContain('did not echo the typed input');
  });

  it('treats a no-echo password prompt as a secret: not recorded, not judged', () => {
    const r = rig({ echo: false });
    r.screen.bracketedPaste = false;
    r.screen.setRow('Password: ');
    r.type('hunter2');
    r.type('\r');
    r.settle();
    expect(r.judged).toEqual([]);
    expect(r.sent).toEqual([
      { text: 'hunter2', record: false },
      { text: '\r', record: true },
    ]);
  });

  it('does not take a password-like prompt for a secret while readline reads the line', () => {
    const r = rig({ echo: false });
    r.screen.setRow('Password: ');
    r.type('rm -rf /');
    r.type('\r');
    r.settle(2_500);
    expect(r.sent[0]).toEqual({ text: 'rm -rf /', record: true });
    expect(r.judged[0]?.[0]).toBe('deny');
  });

  it('redraws a line that output landed in, then reads it', () => {
    const r = rig();
    r.type('ech');
    r.clock.advance(500);
    r.screen.type('NOISE');
    r.insp.output();
    r.type('o hi');
    expect(r.screen.lines[0]).toBe('$ echNOISEo hi');
    r.type('\r');
    r.settle();
    expect(r.upstream()).toBe('echo hi\x12\x07\r');
    expect(r.judged).toEqual([['allow', 'echo hi']]);
  });

  it('denies a dirty line when nothing can redraw it (readline not reading)', () => {
    const r = rig();
    r.screen.bracketedPaste = false;
    r.type('ech');
    r.clock.advance(500);
    r.screen.type('NOISE');
    r.insp.output();
    r.type('o hi\r');
    r.settle();
    expect(r.judged[0]?.[0]).toBe('deny');
    expect(r.client.join('')).toContain('output arrived while the line was typed');
  });

  it('redraws before reading when the screen was lost to heavy output', () => {
    const r = rig();
    r.screen.known = false;
    r.type('ls\r');
    r.settle();
    expect(r.upstream()).toBe('ls\x12\x07\r');
    expect(r.screen.known).toBe(true);
  });

  it('denies when the screen never settles', () => {
    const r = rig();
    r.type('ls\r');
    for (let t = 0; t < MAX_SETTLE_MS + 100; t += 5) {
      r.clock.advance(5);
      r.insp.output();
    }
    expect(r.judged[0]).toEqual(['deny', 'ls']);
    expect(r.client.join('')).toContain('the screen did not settle');
  });

  it('holds a line for review: keys meanwhile are dropped; approved runs it', () => {
    const r = rig();
    r.type('touch /tmp/a\r');
    r.settle();
    expect(r.judged).toEqual([['review', 'touch /tmp/a']]);
    r.type('zzz');
    expect(r.client.join('')).toContain('keystrokes are ignored');
    r.decide('approved');
    return Promise.resolve().then(() => {
      expect(r.upstream()).toBe('touch /tmp/a\r');
      expect(r.judged).toEqual([['review', 'touch /tmp/a'], ['allow', 'touch /tmp/a']]);
    });
  });

  it('denies a line whose review is rejected, and Ctrl-C abandons one waiting', async () => {
    const r = rig();
    r.type('touch /tmp/a\r');
    r.settle();
    r.decide('rejected');
    await Promise.resolve();
    expect(r.upstream()).toBe('touch /tmp/a\x03');
    expect(r.judged.at(-1)).toEqual(['deny', 'touch /tmp/a']);
    r.settle();
    r.type('touch /tmp/b\r');
    r.settle();
    r.type('\x03');
    expect(r.judged.at(-1)).toEqual(['deny', 'touch /tmp/b']);
    r.decide('approved');
    await Promise.resolve();
    expect(r.upstream()).toBe('touch /tmp/a\x03touch /tmp/b\x03');
  });

  it('passes keys through an allowed full-screen program, and only that', () => {
    const r = rig();
    r.type('less f\r');
    r.settle();
    r.screen.altActive = true;
    r.insp.altScreen(true);
    r.type('/needle\r');
    expect(r.upstream()).toBe('less f\r/needle\r');
    r.screen.altActive = false;
    r.insp.altScreen(false);
    r.type('rm x\r');
    r.settle();
    expect(r.judged).toEqual([['allow', 'less f'], ['deny', 'rm x']]);
  });

  it('keeps judging after a fake alternate-screen switch', () => {
    const r = rig();
    r.type("printf '\\e[?1049h'\r");
    r.settle();
    r.screen.altActive = true;
    r.insp.altScreen(true);
    r.type('rm x\r');
    r.settle();
    expect(r.judged.at(-1)).toEqual(['deny', 'rm x']);
    expect(r.upstream()).not.toContain('rm x\r');
  });

  it('reports exit codes from genuine marks and flags forged ones once', () => {
    const r = rig({ setup: true });
    r.insp.setupDone('n0nce');
    r.insp.mark('B;gh=n0nce');
    r.type('ls\r');
    r.settle();
    r.insp.mark('C;gh=n0nce');
    r.clock.advance(40);
    r.insp.mark('D;2;gh=n0nce');
    expect(r.finished).toEqual([['ls', 2, 40]]);
    r.insp.mark('B');
    r.insp.mark('D;0;gh=wrong');
    expect(r.anomalies).toEqual(['forged-shell-mark']);
  });

  it('queues keys typed during setup until the prompt is back', () => {
    const r = rig({ setup: true });
    r.type('ls\r');
    expect(r.upstream()).toBe('');
    r.insp.setupDone(null);
    r.settle(500);
    expect(r.upstream()).toBe('ls\r');
  });

  it('blocks Ctrl-X Ctrl-E (edit the line in an editor and run the result)', () => {
    const r = rig();
    r.type('\x18');
    r.type('\x05');
    expect(r.sent.map((s) => s.text)).toEqual(['\x18', '\x07']);
    expect(r.client.join('')).toContain('Ctrl-X Ctrl-E');
  });
});
