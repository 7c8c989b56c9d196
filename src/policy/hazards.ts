/**
 * Fixed judgements that no rule changes: what bash does with a line that cannot be judged from
 * its text, and the few builtins that are harmless by construction.
 */
import type { Redirect } from './ast.js';
import { normalizePath } from './glob.js';
import { assignProblem } from './names.js';
import { resolveWord, type Arg } from './words.js';

/**
 * Builtins allowed without a rule: they cannot run anything or change the target.
 * (`exec` with no command, which only rearranges descriptors, is handled in judge.ts; it may
 * not redirect standard input or open files for reading, inputs.ts.) Only when typed bare:
 * `/bin/true` is a program.
 */
export const HARMLESS_BUILTINS: ReadonlySet<string> = new Set(['cd', 'pwd', 'true', 'false', ':', 'exit', 'logout']);

/** Builtins denied whatever the rules say, with the reason. */
export const ALWAYS_DENIED: ReadonlyMap<string, string> = new Map([
  ['eval', 'eval runs a string as a command line'],
  ['source', 'source runs a file the policy cannot read'],
  ['.', '. (source) runs a file the policy cannot read'],
  ['alias', 'alias definitions can hide commands'],
  ['trap', 'trap runs a string as a command later'],
  ['enable', 'enable can load builtins from shared objects'],
  ['fc', 'fc re-runs commands from history'],
  ['bind', 'bind -x runs commands from key bindings'],
  ['complete', 'complete -C/-F runs commands on completion'],
  ['compgen', 'compgen -C/-F runs commands'],
]);

/** Builtins whose arguments name variables to assign. */
const NAME_TAKERS = new Set(['read', 'printf', 'mapfile', 'readarray', 'getopts', 'unset', 'export', 'declare', 'typeset', 'local', 'readonly', 'wait']);
const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\]?)?(?:(\+?=)(.*))?$/s;

/**
 * Builtins that assign variables by name can set PATH and friends, define or export functions,
 * and evaluate `a[$(cmd)]` subscripts. Returns why such a use is refused, or null. The names
 * they may assign are those of names.ts, as for a bare assignment.
 */
export function nameTakerProblem(name: string, args: readonly Arg[]): string | null {
  if (!NAME_TAKERS.has(name)) return null;
  const values = args.map((a) => a.value);
  const declares = ['declare', 'typeset', 'local', 'readonly', 'export'].includes(name);
  if (declares) {
    for (const v of values) {
      if (v === null) return `${name}: argument not static`;
      if (/^[-+][A-Za-z]*[fF]/.test(v)) return `${name} -f: defining or exporting functions is not allowed`;
      if (name !== 'export' && /^[-+][A-Za-z]*n/.test(v)) return `${name} -n: name references can assign any variable`;
    }
  }
  if (['mapfile', 'readarray'].some((n) => n === name) && values.some((v) => v === null || /^-[A-Za-z]*C/.test(v))) {
    return `${name} -C runs a callback command`;
  }
  // printf assigns only with -v NAME; its other arguments are data.
  const names = name === 'printf' ? values.flatMap((v, i) => (v === '-v' ? [values[i + 1] ?? null] : v?.startsWith('-v') ? [v.slice(2)] : [])) : values;
  for (const v of names) {
    if (v === null) continue;
    const m = NAME.exec(v);
    if (!m) continue;
    const target = m[1] as string;
    // The value assigned: written after `=`; unchanged by declare/export NAME and unset (''),
    // unknown for read, mapfile, printf -v, getopts and wait -p.
    const value = m[3] !== undefined ? (m[3] === '=' ? (m[4] ?? '') : null) : declares || name === 'unset' ? '' : null;
    const problem = assignProblem(target, value);
    if (problem !== null) return `${name}: ${problem}`;
    const subscript = m[2];
    if (subscript !== undefined && !/^\[[0-9@*]*\]$/.test(subscript)) return `${name}: subscript ${subscript} may run code`;
  }
  return null;
}

/** Network redirections bash opens itself: never allowed, in any word. */
export const DEV_NET = /\/dev\/+(?:tcp|udp)(?:\/|$)/;

export function mentionsDevNet(value: string): boolean {
  return DEV_NET.test(value) || (value.includes('/') && DEV_NET.test(normalizePath(value)));
}

const WRITES = new Set(['>', '>>', '>|', '<>', '&>', '&>>']);

/**
 * Why a redirection is refused, or null. Reading is fine; writing only to /dev/null; `>&N`,
 * `<&N` and `>&-` only duplicate or close descriptors. A target the policy cannot read is
 * refused, whichever way it points (it could be /dev/tcp/...).
 */
export function redirectProblem(r: Redirect): string | null {
  if (r.op === '<<' || r.op === '<<-' || r.op === '<<<') return null;
  const target = resolveWord(r.target);
  const fd = r.fd ?? '';
  if (fd.startsWith('{')) return `named descriptor ${fd} redirection is not allowed`;
  if (target.value === null) return `redirection target ${r.target.text} is not static`;
  const to = target.value;
  if (mentionsDevNet(to)) return `redirection to ${to} opens a network connection`;
  if (r.op === '>&' || r.op === '<&') {
    if (/^(?:[0-9]+-?|-)$/.test(to)) return null;
    if (r.op === '<&') return `redirection <&${to} is not a descriptor`;
    // `>&file` is `&>file`: fall through to the write check.
  } else if (!WRITES.has(r.op)) {
    return null;
  }
  if (normalizePath(to) === '/dev/null') return null;
  return `writes to ${to} (${r.op}); only /dev/null may be written`;
}

/**
 * Interactive bash expands `!` history references (`!!`, `!rm`, `!-2`, `^old^new`) before it
 * parses the line, so the line the broker sees is not the line bash runs. Any `!` that bash
 * would expand is refused: outside single quotes, not escaped, not one of the forms bash leaves
 * alone (`$!`, `${!x}`, `[!...]`), and followed by something other than a blank, `=`, `(` or
 * (inside double quotes) the closing quote; and any line starting with `^`. Bash before 5.0
 * expanded each physical line of a multi-line command on its own, ignoring quotes opened on an
 * earlier line, so each line is also checked alone: refused if either reading finds one.
 */
export function historyExpansion(line: string): boolean {
  if (scanHistory(line)) return true;
  return line.includes('\n') && line.split('\n').some(scanHistory);
}

function scanHistory(line: string): boolean {
  if (/^[ \t]*\^/.test(line)) return true;
  let single = false;
  let double = false;
  const expands = (i: number): boolean => {
    // bash_history_inhibit_expansion (bashhist.c): [!...], ${!...} and $! are left alone.
    if (line[i - 1] === '[' && line.includes(']', i + 1)) return false;
    if (i > 1 && line[i - 1] === '{' && line[i - 2] === '$' && line.includes('}', i + 1)) return false;
    if (i > 1 && line[i - 1] === '$') return false;
    const next = line[i + 1];
    if (next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '=' || next === '(') return false;
    return !(double && next === '"');
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (single) {
      if (c === "'") single = false;
      continue;
    }
    if (c === '\\') {
      i++;
    } else if (c === "'" && !double && line[i - 1] === '$') {
      // $'...': bash's history scanner may not honour its \' escapes, so look inside it too.
      for (i++; i < line.length && line[i] !== "'"; i++) {
        if (line[i] === '\\') i++;
        else if (line[i] === '!' && expands(i)) return true;
      }
    } else if (c === "'" && !double) {
      single = true;
    } else if (c === '"') {
      double = !double;
    } else if (c === '!' && expands(i)) {
      return true;
    }
  }
  return false;
}
