/**
 * Bash quote removal, and what a word is worth to the policy once the shell has expanded it.
 *
 * `r\m`, `'r''m'`, `"rm"`, `$'\x72m'`, `r""m` all resolve to the static value `rm`. A word that
 * the shell would change in ways we cannot see (a parameter expansion, command substitution,
 * arithmetic, a glob, a brace expansion, a leading tilde) has no static value: `value` is null.
 * When it may also become zero or several arguments (unquoted expansions are split and globbed,
 * globs and braces expand to many, "$@" is a list), `multi` is true.
 */
import type { Word } from './ast.js';

export type Unknown = 'expansion' | 'glob' | 'brace' | 'tilde';

export interface Arg {
  /** The value after quote removal, or null when only the running shell knows it. */
  readonly value: string | null;
  /** True when the word may expand to any number of arguments, including none. */
  readonly multi: boolean;
  /** Why value is null. */
  readonly unknown: Unknown | null;
  /** The word as written, for messages. */
  readonly text: string;
}

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Resolves a word the way bash's quote removal would, or says why it cannot be known. */
export function resolveWord(word: Word): Arg {
  let value = '';
  // `live` mirrors value with every quoted or escaped character masked, so that glob, brace
  // and tilde characters are only seen where the shell would act on them.
  let live = '';
  let dynamic = false;
  let multi = false;
  let glob = false;
  for (const part of word.parts) {
    switch (part.type) {
      case 'lit': {
        const raw = part.raw;
        for (let i = 0; i < raw.length; i++) {
          const ch = raw[i] as string;
          if (ch === '\\' && i + 1 < raw.length) {
            value += raw[i + 1];
            live += '\0';
            i++;
          } else {
            value += ch;
            live += ch;
          }
        }
        break;
      }
      case 'dqlit': {
        const text = unescapeDouble(part.raw);
        value += text;
        live += '\0'.repeat(text.length);
        break;
      }
      case 'sgl':
        value += part.value;
        live += '\0'.repeat(part.value.length);
        break;
      case 'ansi': {
        const decoded = decodeAnsiC(part.raw);
        value += decoded;
        live += '\0'.repeat(decoded.length);
        break;
      }
      case 'dyn':
        dynamic = true;
        if (part.multi) multi = true;
        live += '\0';
        value += '\0';
        break;
      case 'extglob':
        glob = true;
        break;
    }
  }
  const bracket = live.indexOf('[');
  if (/[*?]/.test(live) || (bracket >= 0 && value.indexOf(']', bracket + 1) > 0)) glob = true;
  const brace = hasBraceExpansion(live, value);
  // A leading ~, and (bash, outside POSIX mode) a ~ after = or : in a word shaped like an
  // assignment (`prefix=~/x`), become a home directory.
  const tilde = live.startsWith('~') || (/^[A-Za-z_][A-Za-z0-9_]*=/.test(live) && /[=:]~/.test(live));
  if (glob || brace) return { value: null, multi: true, unknown: glob ? 'glob' : 'brace', text: word.text };
  if (dynamic) return { value: null, multi, unknown: 'expansion', text: word.text };
  if (tilde) return { value: null, multi: false, unknown: 'tilde', text: word.text };
  return { value, multi: false, unknown: null, text: word.text };
}

/** Inside "...", a backslash escapes only $ ` " \\ and newline. */
export function unescapeDouble(raw: string): string {
  if (!raw.includes('\\')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    const next = raw[i + 1];
    if (ch === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
      if (next !== '\n') out += next;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

/** An unquoted `{` with a later unquoted `}` and a `,` or `..` between: bash brace expansion. */
function hasBraceExpansion(live: string, value: string): boolean {
  const open = live.indexOf('{');
  if (open < 0) return false;
  const close = live.lastIndexOf('}');
  if (close < open) return false;
  const inside = value.slice(open + 1, close);
  return inside.includes(',') || inside.includes('..');
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07, b: 0x08, e: 0x1b, E: 0x1b, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b,
  '\\': 0x5c, "'": 0x27, '"': 0x22, '?': 0x3f,
};

/**
 * Decodes the inside of $'...' as bash does: C escapes, \xHH and octal as bytes, \u and \U as
 * code points, \cX as a control character. A NUL ends the string (bash strings are C strings).
 */
export function decodeAnsiC(raw: string): string {
  const bytes: number[] = [];
  const pushText = (s: string): void => {
    for (const b of encoder.encode(s)) bytes.push(b);
  };
  let i = 0;
  const digits = (re: RegExp, max: number): string => {
    let s = '';
    while (s.length < max && i < raw.length && re.test(raw[i] as string)) s += raw[i++];
    return s;
  };
  while (i < raw.length) {
    const ch = raw[i++] as string;
    if (ch !== '\\' || i >= raw.length) {
      pushText(ch);
      continue;
    }
    const esc = raw[i++] as string;
    const simple = SIMPLE_ESCAPES[esc];
    if (simple !== undefined) {
      bytes.push(simple);
    } else if (esc >= '0' && esc <= '7') {
      i--;
      bytes.push(parseInt(digits(/[0-7]/, 3), 8) & 0xff);
    } else if (esc === 'x') {
      const hex = digits(/[0-9a-fA-F]/, 2);
      if (hex === '') pushText('\\x');
      else bytes.push(parseInt(hex, 16));
    } else if (esc === 'u' || esc === 'U') {
      const hex = digits(/[0-9a-fA-F]/, esc === 'u' ? 4 : 8);
      const cp = hex === '' ? -1 : parseInt(hex, 16);
      if (hex === '') pushText(`\\${esc}`);
      else pushText(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd');
    } else if (esc === 'c' && i < raw.length) {
      const c = raw[i++] as string;
      bytes.push(c === '?' ? 0x7f : c.charCodeAt(0) & 0x1f);
    } else {
      pushText(`\\${esc}`);
    }
  }
  const nul = bytes.indexOf(0);
  return utf8.decode(Uint8Array.from(nul < 0 ? bytes : bytes.slice(0, nul)));
}

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A value as one shell word, for messages (single-quoted unless plain). */
export function shellQuote(value: string): string {
  if (PLAIN.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** How a word is shown in a reason: its value if static, else its source text. */
export function showArg(arg: Arg): string {
  return arg.value !== null ? shellQuote(arg.value) : arg.text;
}

const MAX_SHOWN = 300;
/** What printable() must escape (control characters here are the point, not a mistake). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

/**
 * Makes text safe to print on a terminal and in logs: control characters, bidi overrides and
 * lone surrogates become visible escapes, and long text is cut.
 */
export function printable(text: string): string {
  if (text.length <= MAX_SHOWN && !UNSAFE.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const unsafe = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
      (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x2028 || cp === 0x2029 ||
      (cp >= 0xd800 && cp <= 0xdfff);
    out += unsafe ? (cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`) : ch;
    if (out.length > MAX_SHOWN) return `${out.slice(0, MAX_SHOWN)}…`;
  }
  return out;
}
