import { describe, expect, it } from 'vitest';
import { isEdit, literalPending, nextSpecial, pasteLines, specialAt } from '../../../src/inspect/keys.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('keys: the bytes the inspector acts on', () => {
  it('finds Enter (CR, LF, Ctrl-O) and Ctrl-C anywhere, also inside an escape sequence', () => {
    expect(nextSpecial(b('ls -la'), 0, false)).toBe(-1);
    expect(nextSpecial(b('ls\r'), 0, false)).toBe(2);
    expect(nextSpecial(b('ls\n'), 0, false)).toBe(2);
    expect(nextSpecial(b('ls\x0f'), 0, false)).toBe(2);
    expect(nextSpecial(b('ab\x03cd'), 0, false)).toBe(2);
    expect(nextSpecial(b('\x1b[\r'), 0, false)).toBe(2);
    expect(nextSpecial(b('a\rb\r'), 2, false)).toBe(3);
    expect(specialAt(b('x\r'), 1)).toBe('enter');
    expect(specialAt(b('x\x03'), 1)).toBe('ctrl-c');
  });

  it('skips the byte after Ctrl-V (inserted literally), also across chunks', () => {
    expect(nextSpecial(b('echo a\x16\rb\r'), 0, false)).toBe(9);
    expect(nextSpecial(b('a\x16\x03'), 0, false)).toBe(-1);
    expect(nextSpecial(b('\x16\x16\r'), 0, false)).toBe(2);
    expect(nextSpecial(b('\rx\r'), 0, false, true)).toBe(2);
    expect(literalPending(b('ab\x16'), false)).toBe(true);
    expect(literalPending(b('\x16\x16'), false)).toBe(false);
    expect(literalPending(b('\x16'), true)).toBe(false);
    expect(literalPending(b('x'), true)).toBe(false);
  });

  it('finds Ctrl-E only after Ctrl-X (edit-and-execute), also across chunks', () => {
    expect(nextSpecial(b('\x05'), 0, false)).toBe(-1);
    expect(nextSpecial(b('\x18\x05'), 0, false)).toBe(1);
    expect(nextSpecial(b('\x05'), 0, true)).toBe(0);
    expect(specialAt(b('\x18\x05'), 1)).toBe('edit-and-execute');
  });

  it('finds the start of a bracketed paste', () => {
    const chunk = b('ab\x1b[200~echo x\x1b[201~');
    expect(nextSpecial(chunk, 0, false)).toBe(2);
    expect(specialAt(chunk, 2)).toBe('paste');
    expect(nextSpecial(b('\x1b[A'), 0, false)).toBe(-1);
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
