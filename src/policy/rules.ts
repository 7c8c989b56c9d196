/**
 * Compiling command rules, and matching one command against them.
 *
 * A rule is split like a shell splits words (by the same parser as command lines, so quoting
 * works: `grep "a b" *` has three words, and a quoted `'*'` is a literal star). The first word
 * names the program: a bare name, or an absolute path. A final lone unquoted `*` matches any
 * number of remaining arguments, including none; every other word is a glob for exactly one
 * argument (glob.ts).
 *
 * Programs: a bare rule name matches the command typed bare or by a path in a standard
 * directory. A path rule matches exactly that path. Deny and review rules are read more widely
 * than allow rules, because they fail closed: a deny rule `/usr/bin/rm` also catches `rm` and
 * `/bin/rm`, since PATH lookup could land on any of them.
 *
 * Matching is three-valued because some arguments are unknown until the shell runs (words.ts):
 * `yes` when every possible expansion matches, `maybe` when some could, `no` otherwise. Allow
 * rules need `yes`; deny and review rules apply on `maybe` too.
 */
import type { CommandRules, Verdict } from '../domain/types.js';
import { GatehouseError } from '../domain/errors.js';
import { parseShell } from './parser.js';
import type { Word } from './ast.js';
import { GLOBSTAR, MARKERS, QMARK, STAR, classifyProgram, compilePattern, matchPattern, type Pattern, type Program } from './glob.js';
import { decodeAnsiC, unescapeDouble, type Arg } from './words.js';

export interface CompiledRule {
  readonly source: string;
  readonly verdict: Verdict;
  readonly program: Program;
  readonly args: readonly Pattern[];
  /** The rule ends in a lone `*`: any number of further arguments. */
  readonly rest: boolean;
}

export interface CompiledRules {
  /** Rules by the program file name they can match (bare rules; std-path deny/review rules). */
  readonly byName: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules naming a path, by that path. */
  readonly byPath: ReadonlyMap<string, readonly CompiledRule[]>;
}

export type Match = 'yes' | 'maybe' | 'no';

function ruleError(rule: string, list: string, index: number, why: string): GatehouseError {
  return new GatehouseError('GH_ERR_POLICY_RULE', `command rule ${JSON.stringify(rule)} (${list}[${index}]): ${why}`, { rule, list, index });
}

/** A rule word as a pattern string: unquoted `*`, `**`, `?` become tokens, the rest literal. */
function wordTokens(word: Word): string | null {
  let out = '';
  for (const part of word.parts) {
    if (part.type === 'lit') {
      const raw = part.raw;
      for (let i = 0; i < raw.length; i++) {
        const c = raw[i] as string;
        if (c === '\\' && i + 1 < raw.length) out += raw[++i];
        else if (c === '*' && raw[i + 1] === '*') (out += GLOBSTAR), i++;
        else if (c === '*') out += STAR;
        else if (c === '?') out += QMARK;
        else out += c;
      }
    } else if (part.type === 'dqlit') out += unescapeDouble(part.raw);
    else if (part.type === 'sgl') out += part.value;
    else if (part.type === 'ansi') out += decodeAnsiC(part.raw);
    else return null;
  }
  return out;
}

function compileOne(source: string, verdict: Verdict, list: string, index: number): CompiledRule {
  if (typeof source !== 'string' || source.trim() === '') throw ruleError(String(source), list, index, 'empty rule');
  if (MARKERS.test(source)) throw ruleError(source, list, index, 'contains reserved characters U+E000-U+E002');
  const parsed = parseShell(source.toWellFormed());
  if (!parsed.ok) throw ruleError(source, list, index, `cannot parse: ${parsed.why}`);
  const unit = parsed.units[0];
  if (parsed.units.length !== 1 || unit?.kind !== 'simple' || unit.assigns.length > 0 || unit.redirects.length > 0 || unit.words.length === 0) {
    throw ruleError(source, list, index, 'a rule is one program and its argument patterns (no lists, pipes, redirections or assignments)');
  }
  const tokens = unit.words.map(wordTokens);
  if (tokens.some((t) => t === null)) throw ruleError(source, list, index, 'expansions ($, `, globs like @(...)) are not allowed in rules');
  const [name, ...rest] = tokens as string[];
  if (name === undefined || name === '' || MARKERS.test(name)) throw ruleError(source, list, index, 'the program must be a literal name or absolute path');
  if (name.includes('/') && !name.startsWith('/')) throw ruleError(source, list, index, 'a program path must be absolute');
  const program = classifyProgram(name);
  const trailing = rest.length > 0 && rest[rest.length - 1] === STAR;
  const argWords = trailing ? rest.slice(0, -1) : rest;
  const sources = unit.words.slice(1).map((w) => w.text);
  return { source, verdict, program, args: argWords.map((t, i) => compilePattern(t, sources[i] ?? t)), rest: trailing };
}

/** Compiles a template's rules once; throws GH_ERR_POLICY_RULE naming the first bad rule. */
export function compileRules(rules: CommandRules): CompiledRules {
  const byName = new Map<string, CompiledRule[]>();
  const byPath = new Map<string, CompiledRule[]>();
  const add = (map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void => {
    const list = map.get(key);
    if (list) list.push(rule);
    else map.set(key, [rule]);
  };
  const lists: ReadonlyArray<readonly [Verdict, readonly string[] | undefined]> = [
    ['deny', rules.deny], ['review', rules.review], ['allow', rules.allow],
  ];
  for (const [verdict, list] of lists) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new GatehouseError('GH_ERR_POLICY_RULE', `command rules: ${verdict} must be a list of strings`);
    list.forEach((source, index) => {
      const rule = compileOne(source, verdict, verdict, index);
      if (rule.program.kind === 'bare') add(byName, rule.program.name, rule);
      else {
        add(byPath, rule.program.path, rule);
        if (verdict !== 'allow' && rule.program.base !== null) add(byName, rule.program.base, rule);
      }
    });
  }
  return { byName, byPath };
}

/** Candidate rules for a program, in deny, review, allow order. */
export function rulesFor(compiled: CompiledRules, program: Program): readonly CompiledRule[] {
  const byName = program.kind === 'bare' ? compiled.byName.get(program.name) : program.base !== null ? compiled.byName.get(program.base) : undefined;
  const byPath = program.kind === 'path' ? compiled.byPath.get(program.path) : undefined;
  // Each list is built in deny, review, allow order; only a merge needs sorting.
  if (byPath === undefined) return byName ?? [];
  if (byName === undefined) return byPath;
  return [...byName, ...byPath].sort((a, b) => ORDER[a.verdict] - ORDER[b.verdict]);
}

const ORDER: Record<Verdict, number> = { deny: 0, review: 1, allow: 2 };

function argMatch(p: Pattern, a: Arg): Match {
  if (a.value !== null) return matchPattern(p, a.value) ? 'yes' : 'no';
  return p.anything ? 'yes' : 'maybe';
}

/** Matches the arguments (program excluded) against one rule's argument patterns. */
export function matchArgs(rule: CompiledRule, args: readonly Arg[]): Match {
  const n = rule.args.length;
  const firstMulti = args.findIndex((a) => a.multi);
  const fixed = firstMulti < 0 ? args.length : firstMulti;
  let result: Match = 'yes';
  for (let i = 0; i < Math.min(n, fixed); i++) {
    const m = argMatch(rule.args[i] as Pattern, args[i] as Arg);
    if (m === 'no') return 'no';
    if (m === 'maybe') result = 'maybe';
  }
  if (firstMulti >= 0) {
    // A word that may become any number of arguments: only a trailing `*` absorbs it for sure.
    if (rule.rest && fixed >= n) return result;
    return 'maybe';
  }
  if (args.length === n || (rule.rest && args.length > n)) return result;
  return 'no';
}

/** Does the rule name this program (see the file comment for deny/review widening)? */
export function programMatches(rule: CompiledRule, program: Program): boolean {
  const r = rule.program;
  if (r.kind === 'bare') return program.kind === 'bare' ? program.name === r.name : program.base === r.name;
  if (program.kind === 'path' && program.path === r.path) return true;
  if (rule.verdict === 'allow' || r.base === null) return false;
  return program.kind === 'bare' ? program.name === r.base : program.base === r.base;
}

/**
 * Does an allow rule spell out, with literal words, everything up to a hazard at argument
 * `index` (0-based; index === args.length means "the command ends here")? Used to let a rule such
 * as `python3 -c *` allow exactly that use of an interpreter, which `python3 *` does not.
 */
export function spellsOut(rule: CompiledRule, index: number, argCount: number): boolean {
  const through = Math.min(index + 1, argCount);
  if (rule.args.length < through) return false;
  if (index >= argCount && (rule.rest || rule.args.length !== argCount)) return false;
  return rule.args.slice(0, through).every((p) => p.literal !== null);
}
