/**
 * evaluate(rules, line) → Decision. Pure: no I/O, no clock, never throws.
 *
 * This is a guard against mistakes and a detector, not a sandbox (DESIGN.md): it judges the text
 * of a line as bash would parse it, and the target's own accounts and sudo rules stay the last
 * line. The semantics, in the order they apply:
 *
 * 1. The line. Denied outright when it holds a NUL, exceeds 16 KiB, contains a history expansion
 *    (`!!`, `!rm`, `^a^b`: interactive bash rewrites those before running them; hazards.ts says
 *    exactly which `!` count, and why multi-line input is checked line by line too), mentions
 *    /dev/tcp or /dev/udp anywhere, or does not parse ("cannot parse: ..."). Lone UTF-16
 *    surrogates are replaced by U+FFFD first. An empty line (or only comments) runs nothing and
 *    is allowed with no reasons.
 * 2. Units. The parser unfolds every simple command: pipelines, lists (; && || &), subshells,
 *    groups, if/while/until/for/case bodies, $(...) and `...`, <(...) and >(...), substitutions
 *    in here-documents, parameter expansions, arithmetic and [[ ]]. Each is judged on its own and
 *    gets one reason. Function definitions and coproc are denied. Arithmetic and subscripts are
 *    allowed only on number literals (bash evaluates `a[$(cmd)]` found in a variable's value).
 *    ${!x} and ${x@P} are denied for the same reason, ${x=v} and ${x:=v} because they assign
 *    (PROMPT_COMMAND, PATH...), and $(< file) because it reads a file past any path rule.
 * 3. Words. Quoting is removed as bash does (r\m, 'r''m', "rm", $'\x72m', r""m are all `rm`).
 *    A command name that is not static (an expansion, substitution, glob, brace or tilde
 *    anywhere in it) is denied. In argument position an unknown word is an argument whose value
 *    is unknown: it satisfies only a rule word `**` or a trailing lone `*` in an allow rule, and
 *    any rule word in a deny or review rule (which fail closed). If it may become several
 *    arguments (unquoted expansion, glob, brace, "$@"), only a trailing lone `*` can absorb it.
 *    Command substitutions inside arguments are judged as commands themselves. Shapes that are
 *    harmless globs to bash but run code in zsh are denied wherever they appear: extended globs
 *    ?(...) *(...) +(...) @(...) !(...) (zsh glob qualifiers: `*(e:cmd:)`), and an unquoted
 *    `$~x`, `$=x`, `$^x` (zsh expansion flags).
 * 4. Redirections. Writing (> >> >| <> &> &>>) only to /dev/null; `>&N`, `2>&1`, `>&-`
 *    duplicate or close descriptors and are fine. A redirection target that is not static is
 *    denied, reading or writing. Reading a file (`cmd < f`, `cmd 3< f`) counts as naming it: the
 *    command must still be allowed with f appended to its arguments, and an input redirection
 *    from a file on a compound command or without a command is denied (inputs.ts). `exec`
 *    without a command may not redirect standard input at all (interactive bash would read its
 *    next commands from there) nor open a file for reading.
 * 5. Assignments (names.ts), an allow-list. Alone (`x=1`), as a loop variable or through
 *    read/declare/export/printf -v/unset: names with a lowercase letter, except those bash, zsh
 *    or common tools give a meaning (histchars, path, aliases, *_functions, *_proxy, ...); single
 *    uppercase letters; LANG, LC_* (to C, POSIX or UTF-8 locales), LANGUAGE, TZ. Every other
 *    uppercase name belongs to the shell or to programs' environments (PATH, PS1, MAILPATH,
 *    LESSSECURE, ...) and is denied. In front of a command (`X=1 cmd`, also through env and
 *    sudo), which exports it, only locale, time zone, terminal size and colour variables are
 *    allowed, and pagers set to '' or cat.
 * 6. Builtins without rules. Always denied: eval, source, ., alias, trap, enable, fc, bind,
 *    complete, compgen, hash -p, declare/typeset/local/readonly/export -f, declare -n,
 *    mapfile -C, and read/printf -v/declare/... assigning a dangerous name or a subscript.
 *    Always allowed (cannot run anything or change the target): cd, pwd, true, false, :, exit,
 *    logout, and exec with no command (its redirections as in 4). Everything else, builtin or
 *    program, needs a rule.
 * 7. Wrappers (wrappers.ts). The inner command is always judged too. Transparent wrappers
 *    (nohup, time, nice, timeout, stdbuf, ionice, command, builtin, exec, env) need no rule of
 *    their own. Others (sudo, doas, pkexec, su, runuser, xargs, find -exec..., watch, flock,
 *    setsid, chroot, strace, ltrace, busybox, sh/bash/... -c) must match an allow rule
 *    themselves AND their inner commands must be allowed; sh -c strings are parsed and judged
 *    like a line, at most 8 levels deep. xargs appends unknown arguments; find's {} is an
 *    unknown argument. A wrapper whose options we cannot follow is denied. Wrappers and
 *    interpreters are recognised by file name in any directory, but only those in the standard
 *    directories are transparent (/tmp/nohup must be allowed by its own rule).
 * 8. Interpreters (interpreters.ts) reading code from -c/-e, a module, a script file or their
 *    input (`curl x | sh`, `bash < f`, `python3 -`) are denied unless an allow rule spells that
 *    use out in literal words up to the code (`python3 -c *`).
 * 9. Rules (rules.ts). A matching deny rule denies; else a matching review rule sends to review;
 *    else a matching allow rule allows; else "no rule allows it".
 * 10. The line: deny if any unit is denied, else review if any is, else allow. Reasons are
 *    ordered deny, review, allow, then by position, so reasons[0] explains the decision.
 *
 * Limits, stated plainly. Each line is judged alone, as bash would parse it: aliases, functions
 * and exported variables already defined on the target (its profile, an earlier session) are
 * not seen, nor is the current directory (relative paths never match absolute rule words).
 * Paths are normalised lexically; symbolic links on the target are not followed. Rules are
 * positional: `rm -r -f` and `rm -rf` are different argument lists, so deny rules should end in
 * `*`. Programs that can run code or write files through their arguments (awk system(), sed
 * `e`/`w`, find -delete, tee, git -c, ...) are only as safe as the allow rules naming them, and
 * pagers (less, opened by systemctl/journalctl on a terminal) accept `!cmd`: the session layer
 * must handle full-screen programs. Lines are judged as bash parses them; zsh-only syntax that
 * could run code is denied where it is known (see 3), but other shells differ in corners.
 */
import type { Verdict } from '../domain/types.js';
import type { ParseResult } from './ast.js';
import { DEV_NET, historyExpansion } from './hazards.js';
import { judgeUnit, type Judgement, type JudgeContext } from './judge.js';
import { fastParse } from './fastpath.js';
import { parseShell } from './parser.js';
import type { CompiledRules } from './rules.js';
import { printable } from './words.js';

export interface Reason {
  /** The simple command, as resolved (or as written, where not static); safe to print. */
  command: string;
  /** The rule that decided it, exactly as configured, or null. */
  rule: string | null;
  why: string;
}

export interface Decision {
  decision: Verdict;
  reasons: Reason[];
}

/** Lines longer than this are denied unread. */
export const MAX_LINE_LENGTH = 16 * 1024;

/*
 * Parsing (mvdan-sh under GopherJS, ~35 µs) is most of the cost of a decision. Plain lines take
 * the fast path (fastpath.ts, checked against mvdan-sh by a differential test); the others are
 * memoised, bounded, since responders repeat lines. Parse results are immutable and independent
 * of the rules; a decision is still computed afresh from them each time.
 */
const CACHE_MAX = 512;
const CACHE_LINE_MAX = 1024;
const parseCache = new Map<string, ParseResult>();

function parseCached(source: string): ParseResult {
  const fast = fastParse(source);
  if (fast !== null) return { ok: true, units: fast };
  if (source.length > CACHE_LINE_MAX) return parseShell(source);
  const hit = parseCache.get(source);
  if (hit !== undefined) {
    parseCache.delete(source);
    parseCache.set(source, hit);
    return hit;
  }
  const result = parseShell(source);
  if (parseCache.size >= CACHE_MAX) {
    const oldest = parseCache.keys().next();
    if (!oldest.done) parseCache.delete(oldest.value);
  }
  parseCache.set(source, result);
  return result;
}

const SEVERITY: Record<Verdict, number> = { deny: 0, review: 1, allow: 2 };

function denyLine(line: string, why: string): Decision {
  return { decision: 'deny', reasons: [{ command: printable(line), rule: null, why }] };
}

/** Judges a command line against compiled rules. Never throws. */
export function evaluate(rules: CompiledRules, line: string): Decision {
  try {
    if (typeof line !== 'string') return denyLine(String(line), 'not a command line');
    if (line.length > MAX_LINE_LENGTH) return denyLine(line, `longer than ${MAX_LINE_LENGTH} characters`);
    if (line.includes('\0')) return denyLine(line, 'contains a NUL character');
    const text = line.toWellFormed();
    if (historyExpansion(text)) return denyLine(text, 'history expansion (! or ^) would change the line after it is judged');
    if (DEV_NET.test(text)) return denyLine(text, 'mentions /dev/tcp or /dev/udp');
    const parsed = parseCached(text);
    if (!parsed.ok) return denyLine(text, `cannot parse: ${parsed.why}`);
    const ctx: JudgeContext = { rules, parse: (source) => parseCached(source.toWellFormed()), out: [] };
    for (const unit of parsed.units) judgeUnit(ctx, unit, 0);
    return combine(ctx.out);
  } catch (err) {
    // A bug must not let a line through: fail closed, and say so.
    return denyLine(typeof line === 'string' ? line : '', `internal error while judging: ${printable(err instanceof Error ? err.message : String(err))}`);
  }
}

function combine(judgements: readonly Judgement[]): Decision {
  let decision: Verdict = 'allow';
  for (const j of judgements) if (SEVERITY[j.verdict] < SEVERITY[decision]) decision = j.verdict;
  const ordered = judgements.map((j, i) => ({ j, i })).sort((a, b) => SEVERITY[a.j.verdict] - SEVERITY[b.j.verdict] || a.i - b.i);
  return { decision, reasons: ordered.map(({ j }) => ({ command: j.command, rule: j.rule, why: j.why })) };
}

const VERB: Record<Verdict, string> = { allow: 'allowed', deny: 'denied', review: 'needs review' };

/**
 * One line for a human: `denied: rm -rf /tmp/x (matches deny rule "rm *")`. Names the first
 * reason (the one that decided) and counts the others. Safe to print.
 */
export function formatDecision(d: Decision): string {
  const first = d.reasons[0];
  if (first === undefined) return `${VERB[d.decision]}: nothing to run`;
  const others = d.reasons.length - 1;
  const more = d.decision !== 'allow' && others > 0 ? ` (+${others} more)` : '';
  return printable(`${VERB[d.decision]}: ${first.command} (${first.why})${more}`);
}
