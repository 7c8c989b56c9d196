/**
 * Replay safety (src/recording/sanitize.ts): every escape sequence that acts on the viewer's
 * terminal or clipboard is removed — fed one by one, whole and split at every byte — and what only
 * draws passes through unchanged.
 */
import { describe, expect, it } from 'vitest';
import { sanitizeText, TERMINAL_RESET, TerminalSanitizer } from '../../../src/recording/sanitize.js';

const STRIPPED: [string, string][] = [
  ['OSC 52 clipboard write (BEL)', '\x1b]52;c;ZWNobyBwd25lZA==\x07'],
  ['OSC 52 clipboard write (ST)', '\x1b]52;c;ZWNobyBwd25lZA==\x1b\\'],
  ['OSC 52 clipboard read', '\x1b]52;c;?\x07'],
  ['OSC 1337 (iTerm2 file transfer)', '\x1b]1337;File=name=eA==;inline=1:SGVsbG8=\x07'],
  ['OSC 0 title', '\x1b]0;you have been pwned\x07'],
  ['OSC 1 icon title', '\x1b]1;icon\x07'],
  ['OSC 2 window title', '\x1b]2;title\x1b\\'],
  ['OSC 50 font', '\x1b]50;#+1\x07'],
  ['OSC 4 palette', '\x1b]4;1;rgb:ff/00/00\x07'],
  ['OSC 8 hyperlink', '\x1b]8;;https://evil.example\x07'],
  ['DCS DECRQSS query', '\x1bP$qm\x1b\\'],
  ['DCS tmux pass-through', '\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\'],
  ['DCS XTGETTCAP', '\x1bP+q544e\x1b\\'],
  ['SOS string', '\x1bXhidden\x1b\\'],
  ['PM string', '\x1b^private\x1b\\'],
  ['APC string', '\x1b_Gf=100;data\x1b\\'],
  ['8-bit OSC', '\x9d52;c;eA==\x9c'],
  ['8-bit DCS', '\x90$qm\x9c'],
  ['8-bit CSI report', '\x9b6n'],
  ['window title push (XTWINOPS)', '\x1b[22;0t'],
  ['window resize (XTWINOPS)', '\x1b[8;100;300t'],
  ['title report (XTWINOPS)', '\x1b[21t'],
  ['cursor position report', '\x1b[6n'],
  ['device status report', '\x1b[5n'],
  ['primary device attributes', '\x1b[c'],
  ['secondary device attributes', '\x1b[>c'],
  ['XTVERSION', '\x1b[>0q'],
  ['DECRQM', '\x1b[?2004$p'],
  ['mouse tracking on', '\x1b[?1000h'],
  ['SGR mouse + any-event tracking', '\x1b[?1003;1006h'],
  ['focus reporting', '\x1b[?1004h'],
  ['bracketed paste', '\x1b[?2004h'],
  ['alternate scroll mode', '\x1b[?1007h'],
  ['xterm modifyOtherKeys', '\x1b[>4;2m'],
  ['xterm key modifier query', '\x1b[?4m'],
  ['kitty keyboard push', '\x1b[>1u'],
  ['kitty keyboard set', '\x1b[=1;1u'],
  ['kitty keyboard pop', '\x1b[<u'],
  ['kitty keyboard query', '\x1b[?u'],
  ['insert mode (IRM)', '\x1b[4h'],
  ['keyboard lock (KAM)', '\x1b[2h'],
  ['newline mode (LNM)', '\x1b[20h'],
  ['local echo (SRM off)', '\x1b[12l'],
  ['DECID', '\x1bZ'],
];

const KEPT = [
  'plain text, unicode ✓ é 😀\r\n',
  '\x1b[1;31mred bold\x1b[0m',
  '\x1b[H\x1b[2J\x1b[3J',
  '\x1b[10;20H\x1b[K',
  '\x1b[?1049h\x1b[?25l alt screen \x1b[?25h\x1b[?1049l',
  '\x1b[38;2;255;128;0mtruecolor\x1b[m',
  '\x1b(0lqqk\x1b(B',
  '\x1b7\x1b8',
  '\x1b[2 q',
  '\x1b[1;24r',
  '\x1b[s saved \x1b[u',
  '\x1b[4l\x1b[12h\x1b[20l',
  '\ttab\bback\x07bell',
];

describe('TerminalSanitizer', () => {
  it.each(STRIPPED)('removes %s', (_name, seq) => {
    const input = `before${seq}after`;
    expect(sanitizeText(input)).toBe('beforeafter');
    // Split at every position, the result is the same.
    for (let cut = 1; cut < input.length; cut++) {
      const s = new TerminalSanitizer();
      expect(s.push(input.slice(0, cut)) + s.push(input.slice(cut)) + s.end()).toBe('beforeafter');
    }
  });

  it.each(KEPT.map((k) => [JSON.stringify(k), k]))('keeps %s', (_name, text) => {
    expect(sanitizeText(text)).toBe(text);
  });

  it('the reset after a replay undoes insert mode, modifyOtherKeys and kitty keyboard flags', () => {
    expect(TERMINAL_RESET).toContain('\x1b[4l');
    expect(TERMINAL_RESET).toContain('\x1b[>4;0m');
    expect(TERMINAL_RESET).toContain('\x1b[<u');
  });

  it('rewrites an 8-bit CSI that only draws to its 7-bit form', () => {
    expect(sanitizeText('\x9b31mred\x9b0m')).toBe('\x1b[31mred\x1b[0m');
  });

  it('drops stray C1 controls and an unfinished sequence at the end', () => {
    expect(sanitizeText('a\x85b\x9cc')).toBe('abc');
    expect(sanitizeText('text\x1b]52;c;unterminated')).toBe('text');
    expect(sanitizeText('text\x1b[1')).toBe('text');
  });

  it('drops an absurdly long CSI instead of holding it', () => {
    expect(sanitizeText(`a\x1b[${'1;'.repeat(500)}mb`)).toBe('a');
  });

  it('an ESC inside a string ends it and starts a sequence of its own', () => {
    expect(sanitizeText('\x1b]0;title\x1b[31mred')).toBe('\x1b[31mred');
  });
});
