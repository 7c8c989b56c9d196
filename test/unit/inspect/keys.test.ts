import { describe, expect, it } from 'vitest';
import { isEdit, nextSpecial, pasteLines, specialAt } from '../../../src/inspect/keys.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('keys: the bytes the inspector acts on', () => {
  it('finds Enter (CR, LF, Ctrl-O) and Ctrl-C anywhere, also inside an escape sequence or after Ctrl-V', () => {
    expect(nextSpecial(b('ls -la'), 0)).toBe(-1);
    expect(nextSpecial(b('ls\r'), 0)).toBe(2);
    expect(nextSpecial(b('ls\n'), 0)).toBe(2);
    expect(nextSpecial(b('ls\x0f'), 0)).toBe(2);
    expect(nextSpecial(b('ab\x03cd'), 0)).toBe(2);
    expect(nextSpecial(b('\x1b[\r'), 0)).toBe(2);
    expect(nextSpecial(b('a\rb\r'), 2)).toBe(3);
    // A quoted line break is not inserted: the Enter is an Enter (the guard cancels the Ctrl-V first).
    expect(nextSpecial(b('echo a\x16\nb'), 0)).toBe(7);
    expect(specialAt(b('x\r'), 1)).toBe('enter');
    expect(specialAt(b('x\x03'), 1)).toBe('ctrl-c');
  });

  it('finds the start of a bracketed paste', () => {
    const chunk = b('ab\x1b[200~echo x\x1b[201~');
    expect(nextSpecial(chunk, 0)).toBe(2);
    expect(specialAt(chunk, 2)).toBe('paste');
    expect(nextSpecial(b('\x1b[A'), 0)).toBe(-1);
  });

  it('tells edits from pure cursor movement', () => {
    for (const move of ['\x01', '\x05', '\x02', '\x06', '\x1b[C', '\x1b[D', '\x1b[H', '\x1b[F', '\x1bOC', '\x1b[1~', '\x1b[4~', '\x1b[1;5C', '\x1bb', '\x1bf', '\x1b', '\x01\x1b[C']) {
      expect(isEdit(b(move)), JSON.stringify(move)).toBe(false);
    }
    for (const edit of ['a', '\t', '\x7f', '\x15', '\x17', '\x1b[A', '\x1b[B', '\x1b[3~', '\x01x', '\x1b.', '\x04']) {
      expect(isEdit(b(edit)), JSON.stringify(edit)).toBe(true);
    }
  });

  it('splits pasted text into lines and refuses control characters', () => {
    expect(pasteLines('echo a\necho b\n')).toEqual(['echo a', 'echo b', '']);
    expect(pasteLines('a\r\nb\rc')).toEqual(['a', 'b', 'c']);
    expect(pasteLines('one\tline')).toEqual(['one\tline']);
    expect(pasteLines('a\x1b[31mb')).toBeNull();
    expect(pasteLines('a\x03b')).toBeNull();
    expect(pasteLines('a\x7fb')).toBeNull();
    expect(pasteLines('a\u009bb')).toBeNull();
  });
});
