/**
 * Quote removal as bash does it, and what stays unknown.
 */
import { describe, expect, it } from 'vitest';
import { parseShell } from '../../../src/policy/parser.js';
import { decodeAnsiC, printable, resolveWord, type Arg } from '../../../src/policy/words.js';

/** The resolved words of the first simple command in a line. */
function args(line: string): Arg[] {
  const parsed = parseShell(line);
  if (!parsed.ok) throw new Error(parsed.why);
  const unit = parsed.units[0];
  if (unit?.kind !== 'simple') throw new Error('not a simple command');
  return unit.words.map(resolveWord);
}

function value(word: string): string | null {
  return args(`: ${word}`)[1]?.value ?? null;
}

describe('quote removal', () => {
  it.each([
    ['r\\m', 'rm'],
    ["'r''m'", 'rm'],
    ['"rm"', 'rm'],
    ["$'\\x72m'", 'rm'],
    ['r""m', 'rm'],
    ["r''m", 'rm'],
    ['\\r\\m', 'rm'],
    ['"r"\'m\'', 'rm'],
    ['"a b"', 'a b'],
    ["'a\"b'", 'a"b'],
    ['"a\\"b"', 'a"b'],
    ['"a\\$b"', 'a$b'],
    ['"a\\nb"', 'a\\nb'], // in "...", \n is not an escape
    ['"a\\\\b"', 'a\\b'],
    ["'a\\nb'", 'a\\nb'],
    ["$'a\\nb'", 'a\nb'],
    ["$'\\t\\e\\a'", '\t\u001b\u0007'],
    ["$'\\101\\x42\\u0043\\U00000044'", 'ABCD'],
    ["$'\\'quoted\\''", "'quoted'"],
    ["$'\\cA'", '\u0001'],
    ["$'\\xc3\\xa9'", 'é'],
    ["$'a\\x00b'", 'a'], // bash strings end at NUL
    ["$'a\\0b'", 'a'],
    ['$"loc"', 'loc'],
    ['""', ''],
    ["''", ''],
    ['\\*', '*'],
    ['"*"', '*'],
    ["'~'", '~'],
    ['\\~/x', '~/x'],
    ['\\{a,b\\}', '{a,b}'],
    ['é', 'é'],
  ])('%s is %j', (word, expected) => {
    expect(value(word)).toBe(expected);
  });

  it('decodes ANSI-C escapes on their own', () => {
    expect(decodeAnsiC('\\x72m')).toBe('rm');
    expect(decodeAnsiC('\\z')).toBe('\\z');
    expect(decodeAnsiC('\\x')).toBe('\\x');
    expect(decodeAnsiC('\\u{')).toBe('\\u{');
    expect(decodeAnsiC('\\ud800')).toBe('\ufffd');
    expect(decodeAnsiC('\\U0011ffff')).toBe('\ufffd');
  });
});

describe('what the shell decides later', () => {
  it.each([
    ['$X', 'expansion', true],
    ['"$X"', 'expansion', false],
    ['"a$X"', 'expansion', false],
    ['$(id)', 'expansion', true],
    ['"$(id)"', 'expansion', false],
    ['`id`', 'expansion', true],
    ['"$@"', 'expansion', true],
    ['"${a[@]}"', 'expansion', true],
    ['"$*"', 'expansion', false],
    ['$((1+2))', 'expansion', true],
    ['<(ls)', 'expansion', false],
    ['*.log', 'glob', true],
    ['/var/log/nginx/*', 'glob', true],
    ['file?', 'glob', true],
    ['[ab]c', 'glob', true],
    ['@(a|b)', 'glob', true],
    ['"$X"*', 'glob', true],
    ['{a,b}', 'brace', true],
    ['x{1..3}', 'brace', true],
    ['~', 'tilde', false],
    ['~root/x', 'tilde', false],
    ['prefix=~/x', 'tilde', false],
    ['PATHS=/a:~/b', 'tilde', false],
  ])('%s is unknown (%s, multi=%s)', (word, unknown, multi) => {
    const arg = args(`: ${word}`)[1];
    expect(arg).toMatchObject({ value: null, unknown, multi });
  });

  it.each(['[', 'a[b', '{}', '{a}', 'a}b{', "'*'", '"?"', 'a~b', '"~"', '=~', '-', '--x=~/y', "a='~'"])('%s is static', (word) => {
    expect(args(`: ${word}`)[1]?.unknown).toBeNull();
  });
});

describe('printable', () => {
  it('escapes control characters, bidi overrides and lone surrogates', () => {
    expect(printable('a\u001b[31mb\u0000c\u0007')).toBe('a\\x1b[31mb\\x00c\\x07');
    expect(printable('x\u202ey')).toBe('x\\u{202e}y');
    expect(printable('\ud800')).toBe('\\u{d800}');
    expect(printable('\u0085')).toBe('\\x85');
    expect(printable('é ok')).toBe('é ok');
  });

  it('cuts long text', () => {
    expect(printable('a'.repeat(1000)).length).toBeLessThanOrEqual(301);
  });
});
