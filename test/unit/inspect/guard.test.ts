/**
 * The key guard: readline keys that run, expand or hide a line without an Enter the broker holds,
 * in the emacs and vi readings of the same bytes; what reaches the target, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { KeyGuard } from '../../../src/inspect/guard.js';

interface Run {
  /** What went to the target; guard-added bytes in ⟨⟩. */
  readonly sent: string;
  readonly refused: string[];
}

/** Feeds chunks (each a separate read, as from the network) and returns what went on. */
function feed(chunks: string[], opts: { viChecks?: boolean; guard?: KeyGuard } = {}): Run {
  const g = opts.guard ?? new KeyGuard();
  if (opts.viChecks === false) g.viChecks = false;
  let sent = '';
  const refused: string[] = [];
  const sink = {
    send: (b: Buffer, typed: boolean) => (sent += typed ? b.toString('latin1') : `⟨${b.toString('latin1')}⟩`),
    refused: (key: string) => refused.push(key),
  };
  for (const c of chunks) {
    if (c === 'ENTER') g.settle(sink);
    else g.pass(Buffer.from(c, 'latin1'), sink);
  }
  return { sent, refused };
}

describe('key guard: emacs bindings', () => {
  it('refuses keyboard macros, edit-and-execute and re-reading inputrc, aborting the Ctrl-X prefix', () => {
    expect(feed(['\x18(', 'x\x7f', '\x18)'])).toEqual({ sent: '\x18⟨\x07⟩x\x7f\x18⟨\x07⟩', refused: ['Ctrl-X (', 'Ctrl-X )'] });
    expect(feed(['\x18', 'e'])).toEqual({ sent: '\x18⟨\x07⟩', refused: ['Ctrl-X e'] });
    expect(feed(['\x18E'])).toEqual({ sent: '\x18⟨\x07⟩', refused: ['Ctrl-X E'] });
    expect(feed(['\x18\x05'])).toEqual({ sent: '\x18⟨\x07⟩', refused: ['Ctrl-X Ctrl-E'] });
    expect(feed(['\x18\x12'])).toEqual({ sent: '\x18⟨\x07⟩', refused: ['Ctrl-X Ctrl-R'] });
  });

  it('refuses insert-comment (also with a count) and shell-expand-line', () => {
    expect(feed(['#touch x', '\x1b1\x1b#'])).toEqual({ sent: '#touch x\x1b1\x1b⟨\x07⟩', refused: ['Esc #'] });
    expect(feed(['echo $(id)', '\x1b', '\x05'])).toEqual({ sent: 'echo $(id)\x1b⟨\x07⟩', refused: ['Esc Ctrl-E'] });
  });

  it('passes editing, history, completion and expansions that run nothing, unchanged and uncopied', () => {
    const g = new KeyGuard();
    const keys = Buffer.from('ls -la /tmp\t\x01\x05\x1bb\x1bf\x1b.\x1b^\x18*\x1b&\x18\x18\x1b[A\x1b[1;5C\x7f\x15\x17', 'latin1');
    const sends: Buffer[] = [];
    g.pass(keys, { send: (b) => sends.push(b), refused: () => expect.unreachable() });
    expect(sends).toHaveLength(1);
    expect(sends[0]).toBe(keys);
  });

  it('refuses a bracketed-paste start split across chunks (the paste would bypass line splitting)', () => {
    expect(feed(['\x1b[20', '0~echo a'])).toEqual({ sent: '\x1b[200⟨\x07⟩echo a', refused: ['paste start'] });
  });
});

describe('key guard: quoted insert', () => {
  it('finishes a quote of a control character harmlessly, then lets the key act as itself', () => {
    expect(feed(['touch x #', '\x16\x0a'])).toEqual({ sent: 'touch x #\x16⟨ \x7f⟩\x0a', refused: ['quoted insert'] });
    expect(feed(['\x16', '\x1b#'])).toEqual({ sent: '\x16⟨ \x7f⟩\x1b⟨\x07⟩', refused: ['quoted insert', 'Esc #'] });
    expect(feed(['\x11\x03'])).toEqual({ sent: '\x11⟨ \x7f⟩\x03', refused: ['quoted insert'] });
    expect(feed(['\x1b[2~', '\x0d'])).toEqual({ sent: '\x1b[2~⟨ \x7f⟩\x0d', refused: ['quoted insert'] });
  });

  it('lets a quoted printable character or tab through', () => {
    expect(feed(["grep '\x16\t' f", '\x16#'])).toEqual({ sent: "grep '\x16\t' f\x16#", refused: [] });
  });

  it('settles a pending quote before an Enter, so the Enter is an Enter', () => {
    expect(feed(['echo a', '\x16', 'ENTER'])).toEqual({ sent: 'echo a\x16⟨ \x7f⟩', refused: [] });
  });
});

describe('key guard: vi command mode', () => {
  it('refuses # and v after Esc, with or without a count, in any chunking', () => {
    expect(feed(['#touch x', '\x1b', '1#'])).toEqual({ sent: '#touch x\x1b1', refused: ['#'] });
    expect(feed(['#touch x\x1b1#'])).toEqual({ sent: '#touch x\x1b1', refused: ['#'] });
    expect(feed(['ls', '\x1b', 'hhv'])).toEqual({ sent: 'ls\x1bhh', refused: ['v'] });
    // An unknown sequence falls back to Esc + its bytes as commands: `\eO#` is Esc, O, # (the
    // emacs reading's pending Esc O is aborted with it).
    expect(feed(['#echo hi', '\x1bO#'])).toEqual({ sent: '#echo hi\x1bO⟨\x07⟩', refused: ['#'] });
  });

  it('lets # and v through once a key entered insert mode again, and as arguments', () => {
    expect(feed(['ls', '\x1b', 'i', 'v#'])).toEqual({ sent: 'ls\x1biv#', refused: [] });
    expect(feed(['ls', '\x1b', 'cw', 'v#'])).toEqual({ sent: 'ls\x1bcwv#', refused: [] });
    expect(feed(['ls', '\x1b', 'fv', 'r#', 'F#'])).toEqual({ sent: 'ls\x1bfvr#F#', refused: [] });
    expect(feed(['ls', '\x1b', '/v#', '\x07', 'A', 'v'])).toEqual({ sent: 'ls\x1b/v#\x07Av', refused: [] });
    // Known sequences (arrows) leave the mode as it was.
    expect(feed(['ls\x1b[D#v'])).toEqual({ sent: 'ls\x1b[D#v', refused: [] });
  });

  it('does not take an operator count, a failed motion or an emptied search for insert mode', () => {
    // c10 then #: an invalid motion (the # is eaten); the next # is a command again.
    expect(feed(['ls', '\x1b', 'c10#', '1#'])).toEqual({ sent: 'ls\x1bc10#1', refused: ['#'] });
    // Backspace on an empty search string leaves the search: # is a command.
    expect(feed(['ls', '\x1b', '/', '\x7f', '#'])).toEqual({ sent: 'ls\x1b/\x7f', refused: ['#'] });
  });

  it('treats an escape sequence split across chunks as command mode until the line ends', () => {
    const g = new KeyGuard();
    expect(feed(['ls', '\x1b', '[A', 'i', '#'], { guard: g })).toEqual({ sent: 'ls\x1b[Ai', refused: ['#'] });
    g.reset();
    expect(feed(['ls #'], { guard: g })).toEqual({ sent: 'ls #', refused: [] });
  });

  it('refuses a control character as the argument of r (a line break in the line)', () => {
    expect(feed(['echo hi #X', '\x1b', 'r', '\x01'])).toEqual({ sent: 'echo hi #X\x1br⟨\x1b\x07⟩', refused: ['vi r'] });
  });

  it('cancels r, f, an operator or a search before an Enter, so the Enter accepts the line', () => {
    expect(feed(['echo hi #X', '\x1b', 'r', 'ENTER'])).toEqual({ sent: 'echo hi #X\x1br⟨\x1b\x07⟩', refused: [] });
    expect(feed(['ls', '\x1b', '/x', 'ENTER'])).toEqual({ sent: 'ls\x1b/x⟨\x1b\x07⟩', refused: [] });
    // A pending Esc (emacs: a Meta prefix) is aborted; plain vi command mode needs nothing.
    expect(feed(['ls', '\x1b', 'ENTER'])).toEqual({ sent: 'ls\x1b⟨\x07⟩', refused: [] });
    expect(feed(['ls', '\x1bb', 'ENTER'])).toEqual({ sent: 'ls\x1bb', refused: [] });
    expect(feed(['ls', 'ENTER'])).toEqual({ sent: 'ls', refused: [] });
  });

  it('reads a paste as text only in insert mode (or when shell integration unbound v and #)', () => {
    const g = new KeyGuard();
    expect(g.pastable).toBe(true);
    feed(['ls', '\x1b'], { guard: g });
    expect(g.pastable).toBe(false);
    g.viChecks = false;
    expect(g.pastable).toBe(true);
  });

  it('leaves v and # to the shell when shell integration removed them (viChecks off)', () => {
    expect(feed(['ls', '\x1b', 'v', '1#'], { viChecks: false })).toEqual({ sent: 'ls\x1bv1#', refused: [] });
  });
});
