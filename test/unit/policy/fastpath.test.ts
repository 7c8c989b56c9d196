/**
 * The fast path must never disagree with mvdan-sh: whenever it returns units, they are exactly
 * the units parser.ts builds from mvdan-sh's tree. A disagreement would be a bypass.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../../../src/policy/fastpath.js';
import { parseShell } from '../../../src/policy/parser.js';

function agrees(line: string): boolean {
  const fast = fastParse(line);
  if (fast === null) return true;
  const slow = parseShell(line);
  expect(slow.ok, JSON.stringify(line)).toBe(true);
  expect(fast, JSON.stringify(line)).toEqual(slow.ok ? slow.units : null);
  return true;
}

describe('fast path', () => {
  it('takes the common lines', () => {
    for (const line of [
      'journalctl -u nginx --since "1 hour ago" | grep -i error | tail -n 50',
      'ps aux | grep nginx | head',
      "grep 'connection refused' /var/log/syslog",
      'ls -la /var/log; df -h && free -m || uptime',
      'ls r""m \'\' ""',
    ]) {
      expect(fastParse(line), line).not.toBeNull();
      agrees(line);
    }
  });

  it.each([
    'ls $HOME', 'ls `id`', 'ls \\x', 'ls ~', 'ls *.log', 'ls a?', 'ls [a]', 'ls {a,b}', 'ls # c', 'ls > x', 'ls < x', 'ls &', 'ls |& x',
    'ls;', 'ls |', '| ls', 'ls ;; x', 'X=1 ls', 'if x', 'time ls', 'declare x', 'let x', '! ls', '"ls" x', 'ls "a$b"', 'ls "a!b"', "ls 'a\nb'",
    'ls\nx', 'ls (x)', 'ls é', '', '   ', '[[ x ]]', 'coproc x', '{ ls; }', 'function f', 'ls "x', "ls 'x",
  ])('leaves %j to the real parser', (line) => {
    expect(fastParse(line)).toBeNull();
  });

  const plain = fc.stringMatching(/^[A-Za-z0-9_./:,=+@%-]{1,8}$/);
  const sgl = fc.string({ unit: fc.constantFrom(...' abc$`"\\!*?;|&<>(){}~#=\t'), maxLength: 6 }).map((s) => `'${s}'`);
  const dbl = fc.string({ unit: fc.constantFrom(...' abc*?;|&<>(){}~#=\'$`!\\'), maxLength: 6 }).map((s) => `"${s}"`);
  const word = fc.array(fc.oneof(plain, plain, sgl, dbl), { minLength: 1, maxLength: 3 }).map((p) => p.join(''));
  const blanks = fc.constantFrom('', ' ', '  ', '\t');
  const command = fc.tuple(plain, fc.array(fc.tuple(blanks, word), { maxLength: 4 })).map(([head, rest]) => head + rest.map(([b, w]) => ` ${b}${w}`).join(''));
  const sep = fc.constantFrom('|', ';', '&&', '||', ' | ', '; ', ' && ', ' || ', '|&', '&', ';;', '\n');
  const line = fc
    .tuple(blanks, command, fc.array(fc.tuple(sep, command), { maxLength: 3 }), blanks)
    .map(([a, first, rest, z]) => a + first + rest.map(([s, c]) => s + c).join('') + z);

  it('agrees with mvdan-sh on generated lines (most of which it takes)', () => {
    let taken = 0;
    fc.assert(
      fc.property(line, (l) => {
        if (fastParse(l) !== null) taken++;
        return agrees(l);
      }),
      { numRuns: 1500 },
    );
    expect(taken).toBeGreaterThan(200); // the comparison is not vacuous
  });

  it('agrees with mvdan-sh on mutated lines', () => {
    const mutation = fc.tuple(line, fc.nat(), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 2 }));
    fc.assert(
      fc.property(mutation, ([l, at, insert]) => {
        const i = at % (l.length + 1);
        return agrees(l.slice(0, i) + insert + l.slice(i));
      }),
      { numRuns: 1500 },
    );
  });

  it('agrees with mvdan-sh after every single-character insertion into a typical line', () => {
    const base = 'journalctl -u nginx --since "1 hour ago" | grep -i \'e r\' && tail -n 50';
    for (let c = 0; c < 128; c++) {
      for (const i of [0, 3, 10, 21, 26, 38, 45, 52, base.length]) {
        agrees(base.slice(0, i) + String.fromCharCode(c) + base.slice(i));
      }
    }
  });
});
