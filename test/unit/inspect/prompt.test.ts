import { describe, expect, it } from 'vitest';
import { cursorLine } from '../../../src/inspect/line.js';
import { looksLikePasswordPrompt, parseMark, Prompts } from '../../../src/inspect/prompt.js';
import { FakeScreen } from './fake-screen.js';

describe('cursorLine: the logical line under the cursor', () => {
  it('joins wrapped rows, keeps blanks at wrap points, and gives the text before the cursor', () => {
    const s = new FakeScreen(10, 5);
    s.type('$ ');
    s.type('echo abcd efgh');
    expect(s.lines.slice(0, 2)).toEqual(['$ echo abc', 'd efgh']);
    const line = cursorLine(s);
    expect(line).toMatchObject({ ok: true, text: '$ echo abcd efgh', top: 0 });
    s.cursorX = 2;
    s.cursorY = 0;
    expect(cursorLine(s)).toMatchObject({ ok: true, before: '$ ' });
  });

  it('keeps a blank that falls exactly on a wrap point', () => {
    const s = new FakeScreen(8, 4);
    s.type('$ echo a b');
    expect(s.lines.slice(0, 2)).toEqual(['$ echo a', ' b']);
    expect(cursorLine(s)).toMatchObject({ ok: true, text: '$ echo a b' });
  });

  it('refuses a line whose start scrolled off the top', () => {
    const s = new FakeScreen(10, 3);
    s.type('$ ' + 'x'.repeat(40));
    expect(s.wraps[0]).toBe(true);
    expect(cursorLine(s)).toEqual({ ok: false, why: 'the command line is longer than the screen can show' });
  });
});

describe('Prompts: where the command starts', () => {
  it('takes the command after the prompt learned for the line', () => {
    const p = new Prompts();
    expect(p.extract('root@web-1:/tmp# ls -la', 'root@web-1:/tmp# ')).toEqual({ ok: true, command: 'ls -la', prompt: 'root@web-1:/tmp# ' });
  });

  it('falls back to remembered prompts when the prompt moved, preferring the shortest', () => {
    const p = new Prompts();
    p.remember('root@web-1:~# ');
    p.remember('$ ');
    // Type-ahead learned an empty prompt; the shell then redrew "$ ls" elsewhere.
    expect(p.extract('$ ls', '')).toEqual({ ok: true, command: 'ls', prompt: '$ ' });
    // A prompt learned in the middle of a line must not hide its start.
    expect(p.extract('$ rm -rf x ;^C', '$ rm -rf x ;^C')).toEqual({ ok: true, command: 'rm -rf x ;^C', prompt: '$ ' });
  });

  it('judges the whole line when the line began at the left margin with no prompt', () => {
    const p = new Prompts();
    expect(p.extract('ls /tmp', '')).toEqual({ ok: true, command: 'ls /tmp', prompt: '' });
  });

  it('fails closed when no known prompt is on the line', () => {
    const p = new Prompts();
    p.remember('$ ');
    expect(p.extract('!rm -rf /', ':')).toMatchObject({ ok: false });
  });

  it('reads the line found by reverse-i-search, and refuses an ambiguous search text', () => {
    const p = new Prompts();
    expect(p.extract("(reverse-i-search)`rm': rm -rf /tmp/x", '$ ')).toEqual({ ok: true, command: 'rm -rf /tmp/x', prompt: "(reverse-i-search)`rm': " });
    expect(p.extract("(failed reverse-i-search)`zz': ls", '$ ')).toMatchObject({ ok: true, command: 'ls' });
    expect(p.extract("(reverse-i-search)`a': b': rm x", '$ ')).toMatchObject({ ok: false });
  });

  it('remembers only prompt-like texts, at most eight', () => {
    const p = new Prompts();
    p.remember('Loading...');
    p.remember('   ');
    expect(p.containsKnown('Loading... x')).toBe(false);
    for (let i = 0; i < 10; i++) p.remember(`p${i}$ `);
    expect(p.containsKnown('p9$ ls')).toBe(true);
    expect(p.containsKnown('p1$ ls')).toBe(false);
  });

  it('finds a remembered prompt also after other text on the line (output left before it)', () => {
    const p = new Prompts();
    p.remember('alice@box:~$ ');
    expect(p.containsKnown('XXalice@box:~$ touch x')).toBe(true);
    expect(p.containsKnown('XXalice@box:~$ ')).toBe(false);
    expect(p.containsKnown('nothing here')).toBe(false);
  });
});

describe('password prompts', () => {
  it('recognises the usual ones and nothing else', () => {
    for (const prompt of ['Password: ', '[sudo] password for alice: ', "alice@web-1's password: ", 'Enter passphrase for key /root/.ssh/id: ', 'Enter PIN: ', 'Verification code:']) {
      expect(looksLikePasswordPrompt(prompt), prompt).toBe(true);
    }
    for (const prompt of ['$ ', 'root@web-1:~# ', 'password reset done, continue? ', 'Name: ']) {
      expect(looksLikePasswordPrompt(prompt), prompt).toBe(false);
    }
  });
});

describe('parseMark: OSC 133 marks with the session nonce', () => {
  it('parses A, B, C and D with an exit code', () => {
    expect(parseMark('A;gh=n1', 'n1')).toEqual({ kind: 'A' });
    expect(parseMark('B;gh=n1', 'n1')).toEqual({ kind: 'B' });
    expect(parseMark('C;gh=n1', 'n1')).toEqual({ kind: 'C' });
    expect(parseMark('D;130;gh=n1', 'n1')).toEqual({ kind: 'D', exitCode: 130 });
    expect(parseMark('D;gh=n1', 'n1')).toEqual({ kind: 'D', exitCode: null });
  });

  it('calls a mark without the right nonce forged, and ignores other OSC 133 payloads', () => {
    expect(parseMark('A', 'n1')).toBe('forged');
    expect(parseMark('B;gh=other', 'n1')).toBe('forged');
    expect(parseMark('D;0', 'n1')).toBe('forged');
    expect(parseMark('D;x;gh=n1', 'n1')).toBe('forged');
    expect(parseMark('B;extra;gh=n1', 'n1')).toBe('forged');
    expect(parseMark('A;gh=n1', '')).toBe('forged');
    expect(parseMark('P;k=v', 'n1')).toBeNull();
    expect(parseMark('', 'n1')).toBeNull();
  });
});
