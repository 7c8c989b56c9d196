/**
 * Rule globs, lexical path normalisation, and how a command names its program.
 *
 * A rule word is a glob for one argument: `*` matches within one path segment (never `/`), `?`
 * one character other than `/`, `**` anything across segments (`/a/**` also matches `/a`
 * itself, `/a/**\/b` also matches `/a/b`). Other characters, including `[`, are literal. `*`
 * matches names starting with a dot too: there is no hidden-file rule.
 *
 * Arguments containing `/`, and rule words containing `/`, are normalised the same way before
 * matching: `.` and empty segments dropped, `..` resolved against the previous segment. This is
 * lexical, as it must be without I/O: a symbolic link on the target (`/var/log/x -> /etc`) is
 * not seen, so path rules bound what a responder types, not what the kernel opens.
 */

/** Where a bare rule name (`ls`) may be found: exactly these directories. */
export const STANDARD_DIRS: readonly string[] = ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/** Glob tokens inside a pattern string: private-use characters, refused in rule text. */
export const STAR = '\ue000';
export const GLOBSTAR = '\ue001';
export const QMARK = '\ue002';
export const MARKERS = /[\ue000-\ue002]/;

/** Lexical normalisation: `/var/log/../../etc/shadow` → `/etc/shadow`; no trailing slash. */
export function normalizePath(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** An argument as matched: normalised when it looks like a path. */
export function normalizeArg(value: string): string {
  return value.includes('/') ? normalizePath(value) : value;
}

/**
 * The program a command word names. `bare`: looked up in PATH (assumed to be the standard
 * directories). `path`: named by a path; `base` is its file name when it lies in a standard
 * directory (so `/usr/bin/ls` is the `ls` a bare rule means), null when it lies elsewhere
 * (`./ls`, `/tmp/ls`), which only a rule naming that exact path can match.
 */
export type Program =
  | { readonly kind: 'bare'; readonly name: string }
  | { readonly kind: 'path'; readonly path: string; readonly base: string | null };

export function classifyProgram(word: string): Program {
  if (!word.includes('/')) return { kind: 'bare', name: word };
  const path = normalizePath(word);
  if (!word.startsWith('/')) return { kind: 'path', path: word, base: null };
  const slash = path.lastIndexOf('/');
  const dir = slash <= 0 ? '/' : path.slice(0, slash);
  const base = path.slice(slash + 1);
  return { kind: 'path', path, base: base !== '' && STANDARD_DIRS.includes(dir) ? base : null };
}

/** The name a wrapper or builtin is recognised by: bare, or a standard-directory path. */
export function programName(word: string): string | null {
  const p = classifyProgram(word);
  return p.kind === 'bare' ? p.name : p.base;
}

export interface Pattern {
  /** The rule word as written in the rule, for messages. */
  readonly source: string;
  /** Set when the pattern has no glob tokens: compared as a string. */
  readonly literal: string | null;
  readonly regex: RegExp | null;
  /** A lone `**`: matches any one argument, even one whose value is unknown. */
  readonly anything: boolean;
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/;

/** Compiles a pattern string (literal characters plus STAR/GLOBSTAR/QMARK tokens). */
export function compilePattern(tokens: string, source: string): Pattern {
  const s = tokens.includes('/') ? normalizePath(tokens) : tokens;
  if (!MARKERS.test(s)) return { source, literal: s, regex: null, anything: false };
  if (s === GLOBSTAR) return { source, literal: null, regex: /^.*$/s, anything: true };
  let re = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === GLOBSTAR) {
      const afterSlash = s[i - 1] === '/';
      const beforeSlash = s[i + 1] === '/';
      if (afterSlash && i + 1 === s.length) {
        re = `${re.slice(0, -2)}(?:/.*)?`; // "/a/**" also matches "/a"
      } else if (afterSlash && beforeSlash) {
        re = `${re.slice(0, -2)}(?:/.*)?`; // "/a/**/b" also matches "/a/b"
      } else if (i === 0 && beforeSlash) {
        re += '(?:.*/)?';
        i++;
      } else {
        re += '.*';
      }
    } else if (c === STAR) {
      re += '[^/]*';
    } else if (c === QMARK) {
      re += '[^/]';
    } else {
      re += REGEX_SPECIAL.test(c) ? `\\${c}` : c;
    }
  }
  return { source, literal: null, regex: new RegExp(`^${re}$`, 's'), anything: false };
}

/** Does a known argument value match? */
export function matchPattern(p: Pattern, value: string): boolean {
  const v = normalizeArg(value);
  return p.literal !== null ? p.literal === v : (p.regex as RegExp).test(v);
}
