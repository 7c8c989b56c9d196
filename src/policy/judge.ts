/**
 * Judging one unit (and, recursively, the commands it wraps). The semantics are documented at
 * the top of evaluate.ts; this file implements them in order.
 */
import type { Verdict } from '../domain/types.js';
import type { ParseResult, Redirect, Unit } from './ast.js';
import { classifyProgram, programName } from './glob.js';
import { ALWAYS_DENIED, HARMLESS_BUILTINS, mentionsDevNet, nameTakerProblem, redirectProblem } from './hazards.js';
import { bareExecProblem, commandlessInputProblem, inputFiles } from './inputs.js';
import { interpreterFor } from './interpreters.js';
import { assignProblem, prefixAssignProblem } from './names.js';
import { matchArgs, programMatches, rulesFor, spellsOut, type CompiledRule, type CompiledRules } from './rules.js';
import type { EnvAssign, Special } from './special.js';
import { printable, resolveWord, shellQuote, showArg, type Arg } from './words.js';
import { WRAPPERS } from './wrappers.js';

export interface Judgement {
  readonly verdict: Verdict;
  readonly command: string;
  readonly rule: string | null;
  readonly why: string;
}

/** How deep wrappers and `sh -c` strings may nest before the line is refused. */
const MAX_DEPTH = 8;
const PLAIN: Special = { kind: 'plain' };

export interface JudgeContext {
  readonly rules: CompiledRules;
  readonly parse: (source: string) => ParseResult;
  readonly out: Judgement[];
}

export function judgeUnit(ctx: JudgeContext, unit: Unit, depth: number): void {
  if (unit.kind !== 'simple') {
    const harmless = (unit.kind === 'arith' || unit.kind === 'test') && !unit.dynamic;
    ctx.out.push({ verdict: harmless ? 'allow' : 'deny', command: printable(unit.text), rule: null, why: unit.why });
    return;
  }
  const assigns: EnvAssign[] = unit.assigns.map((a) => ({ name: a.name, value: a.value === null ? null : resolveWord(a.value).value, text: a.text }));
  judgeSimple(ctx, unit.words.map(resolveWord), assigns, unit.redirects, depth);
}

function judgeSimple(ctx: JudgeContext, args: readonly Arg[], assigns: readonly EnvAssign[], redirects: readonly Redirect[], depth: number): void {
  const shown = printable([...assigns.map((a) => a.text), ...args.map(showArg)].join(' ') || redirects.map((r) => `${r.fd ?? ''}${r.op}${r.target.text}`).join(' '));
  const push = (verdict: Verdict, why: string, rule: CompiledRule | null = null): void => {
    ctx.out.push({ verdict, command: shown, rule: rule?.source ?? null, why: printable(why) });
  };
  const denied = staticProblem(args, assigns, redirects);
  if (denied !== null) return push('deny', denied);
  const name = args[0];
  if (name === undefined) {
    const input = commandlessInputProblem(redirects);
    if (input !== null) return push('deny', input);
    return push('allow', assigns.length > 0 ? 'assignment only; runs nothing' : 'redirection only; runs nothing');
  }
  if (name.value === null) return push('deny', `command name ${name.text} is not static (${name.unknown ?? 'expansion'})`);
  if (name.value === '') return push('deny', 'empty command name');

  const program = classifyProgram(name.value);
  const known = programName(name.value);
  const rest = args.slice(1);
  if (program.kind === 'bare') {
    const always = ALWAYS_DENIED.get(program.name);
    if (always !== undefined) return push('deny', always);
    if (HARMLESS_BUILTINS.has(program.name)) return push('allow', 'harmless builtin; needs no rule');
    if (program.name === 'exec' && rest.length === 0) {
      const problem = bareExecProblem(redirects);
      return problem !== null ? push('deny', problem) : push('allow', 'exec without a command only rearranges descriptors');
    }
    if (program.name === 'hash' && rest.some((a) => a.value === null || /^-[A-Za-z]*p/.test(a.value))) return push('deny', 'hash -p makes a name run another program');
    const taker = nameTakerProblem(program.name, rest);
    if (taker !== null) return push('deny', taker);
  }
  const special = inspect(name.value, known, args);
  if (program.kind === 'bare' && program.name === 'exec' && (special.kind !== 'wrapper' || special.inner.length === 0)) {
    const problem = bareExecProblem(redirects); // `exec -c < f`: options, still no command
    if (problem !== null) return push('deny', problem);
  }
  const inputs = inputFiles(redirects);
  const withInputs = inputs.length > 0 ? [...rest, ...inputs] : null;

  let denyRule: CompiledRule | null = null;
  let reviewRule: CompiledRule | null = null;
  const allowRules: CompiledRule[] = [];
  let readsAllowed = withInputs === null;
  for (const rule of rulesFor(ctx.rules, program)) {
    if (!programMatches(rule, program)) continue;
    const m = matchArgs(rule, rest);
    // What it reads through `<` counts as arguments too (inputs.ts): for deny and review rules
    // either reading applies; an allow rule must also allow the command naming those files.
    const mi = withInputs === null ? m : matchArgs(rule, withInputs);
    if (rule.verdict === 'deny' && (m !== 'no' || mi !== 'no')) denyRule ??= rule;
    else if (rule.verdict === 'review' && (m !== 'no' || mi !== 'no')) reviewRule ??= rule;
    else if (rule.verdict === 'allow' && m === 'yes') allowRules.push(rule);
    if (rule.verdict === 'allow' && mi === 'yes') readsAllowed = true;
  }
  if (denyRule !== null) return push('deny', `matches deny rule "${denyRule.source}"`, denyRule);
  if (special.kind === 'deny') return push('deny', special.why);
  if (special.kind === 'hazard' && !allowRules.some((r) => spellsOut(r, special.index, rest.length))) {
    return push('deny', `${special.why}; only an allow rule spelling out this use can allow it`);
  }
  const allowRule = allowRules[0] ?? null;
  if (special.kind === 'wrapper' && special.transparent && special.inner.length > 0) {
    if (reviewRule !== null) push('review', `matches review rule "${reviewRule.source}"`, reviewRule);
    else push('allow', 'transparent wrapper; the command it runs decides');
  } else if (reviewRule !== null) {
    push('review', `matches review rule "${reviewRule.source}"`, reviewRule);
  } else if (allowRule !== null && !readsAllowed) {
    const files = inputs.map((a) => a.text).join(' ');
    push('deny', `reads ${files} through <, which no allow rule lets it name as an argument`);
  } else if (allowRule !== null) {
    push('allow', `matches allow rule "${allowRule.source}"`, allowRule);
  } else {
    push('deny', special.kind === 'wrapper' ? `no rule allows the wrapper ${shellQuote(known ?? name.value)} itself` : 'no rule allows it');
  }
  if (special.kind !== 'wrapper') return;
  for (const inner of special.inner) {
    if (depth + 1 > MAX_DEPTH) {
      push('deny', 'commands nested too deeply to judge');
      return;
    }
    if (inner.kind === 'argv') {
      // The wrapped command inherits the descriptors: `command exec <<< x`, `nice cat < f`.
      judgeSimple(ctx, inner.argv, inner.assigns, redirects, depth + 1);
      continue;
    }
    const parsed = ctx.parse(inner.source);
    if (!parsed.ok) {
      push('deny', `cannot parse the command string: ${parsed.why}`);
      continue;
    }
    if (mentionsDevNet(inner.source)) push('deny', 'the command string mentions /dev/tcp or /dev/udp');
    for (const unit of parsed.units) judgeUnit(ctx, unit, depth + 1);
  }
}

/**
 * Wrappers and interpreters are recognised by file name wherever they live, so that
 * /opt/py/bin/python3 is still an interpreter; but only the standard ones may be transparent
 * (/tmp/nohup is some other program, which must be allowed by its own rule).
 */
function inspect(word: string, known: string | null, args: readonly Arg[]): Special {
  const base = known ?? word.slice(word.lastIndexOf('/') + 1);
  const special = WRAPPERS[base]?.(args) ?? interpreterFor(base)?.(args) ?? PLAIN;
  if (special.kind === 'wrapper' && special.transparent && known === null) return { ...special, transparent: false };
  return special;
}

/** What is refused before any rule is looked at: redirections, network paths, assignments. */
function staticProblem(args: readonly Arg[], assigns: readonly EnvAssign[], redirects: readonly Redirect[]): string | null {
  for (const r of redirects) {
    const problem = redirectProblem(r);
    if (problem !== null) return problem;
  }
  for (const a of args) if (a.value !== null && mentionsDevNet(a.value)) return `${a.value} opens a network connection`;
  for (const a of assigns) {
    if (a.value !== null && mentionsDevNet(a.value)) return `${a.value} opens a network connection`;
    if (args.length === 0) {
      const problem = assignProblem(a.name, a.value);
      if (problem !== null) return problem;
    } else {
      const problem = prefixAssignProblem(a.name, a.value);
      if (problem !== null) return problem;
    }
  }
  return null;
}
