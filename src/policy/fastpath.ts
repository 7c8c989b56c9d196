/**
 * A fast path for the commonest lines: plain words joined by `|`, `;`, `&&`, `||`.
 *
 * mvdan-sh under GopherJS takes ~35 µs to parse a short line, most of a decision's cost. Lines
 * made only of plain words, 'single-quoted' and "double-quoted" text without anything the shell
 * expands, are split here in ~1 µs into exactly the units parser.ts would produce. Anything
 * else, including anything we are unsure of, returns null and goes to the real parser.
 *
 * The subset is deliberately tiny, and test/unit/policy/fastpath.test.ts checks, on generated
 * and mutated lines, that whenever this returns units they are deep-equal to mvdan-sh's. Keep
 * it that way: a disagreement between the two parsers would be a bypass.
 *
 * Not in the subset: $ ` \ ! ~ # * ? [ ] { } ( ) < > & alone, newlines, control and non-ASCII
 * characters, assignments, reserved words and declaration builtins in command position, quotes
 * in command position, and empty or trailing commands.
 */
import type { SimpleUnit, Unit, Word, WordPart } from './ast.js';

/** Characters of an unquoted word in the subset: A-Z a-z 0-9 _ . / : , = + @ % - */
const PLAIN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:,=+@%-') PLAIN[c.charCodeAt(0)] = 1;
const isPlain = (code: number): boolean => code < 128 && PLAIN[code] === 1;

/** Words bash or mvdan-sh parse specially in command position. */
const SPECIAL_FIRST = new Set([
  'if', 'then', 'elif', 'else', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'in',
  'select', 'function', 'time', 'coproc', '!', '[[', ']]', '{', '}',
  'declare', 'local', 'export', 'readonly', 'typeset', 'nameref', 'let',
]);

export function fastParse(src: string): Unit[] | null {
  const units: Unit[] = [];
  const n = src.length;
  let i = 0;
  const skipBlanks = (): void => {
    while (i < n && (src[i] === ' ' || src[i] === '\t')) i++;
  };
  skipBlanks();
  if (i >= n) return null; // empty: let the real parser say so
  for (;;) {
    const start = i;
    let end = i;
    const words: Word[] = [];
    while (i < n && src[i] !== '|' && src[i] !== ';' && src[i] !== '&') {
      const word = readWord();
      if (word === null) return null;
      words.push(word);
      end = i;
      skipBlanks();
    }
    if (words.length === 0) return null;
    const first = words[0] as Word;
    const head = first.parts[0];
    if (first.parts.length !== 1 || head?.type !== 'lit' || SPECIAL_FIRST.has(head.raw) || head.raw.includes('=')) return null;
    const unit: SimpleUnit = { kind: 'simple', assigns: [], words, redirects: [], text: src.slice(start, end) };
    units.push(unit);
    if (i >= n) return units;
    // A separator: | ; && || (not |&, not & alone, not trailing).
    const c = src[i] as string;
    const d = src[i + 1];
    if (c === '|' && d === '|') i += 2;
    else if (c === '&' && d === '&') i += 2;
    else if (c === '|' && d !== '&') i += 1;
    else if (c === ';' && d !== ';' && d !== '&') i += 1;
    else return null;
    skipBlanks();
    if (i >= n) return null;
  }

  function readWord(): Word | null {
    const start = i;
    const parts: WordPart[] = [];
    while (i < n) {
      const c = src[i] as string;
      if (c === ' ' || c === '\t' || c === '|' || c === ';' || c === '&') break;
      if (c === "'") {
        const close = src.indexOf("'", i + 1);
        if (close < 0) return null;
        const value = src.slice(i + 1, close);
        if (!/^[\x20-\x7e]*$/.test(value)) return null;
        parts.push({ type: 'sgl', value });
        i = close + 1;
      } else if (c === '"') {
        const close = src.indexOf('"', i + 1);
        if (close < 0) return null;
        const raw = src.slice(i + 1, close);
        if (!/^[\x20-\x7e]*$/.test(raw) || /[$`\\!]/.test(raw)) return null;
        parts.push({ type: 'dqlit', raw: '' });
        if (raw !== '') parts.push({ type: 'dqlit', raw });
        i = close + 1;
      } else if (isPlain(src.charCodeAt(i))) {
        let j = i;
        while (j < n && isPlain(src.charCodeAt(j))) j++;
        parts.push({ type: 'lit', raw: src.slice(i, j) });
        i = j;
      } else {
        return null;
      }
    }
    return { parts, text: src.slice(start, i) };
  }
}
