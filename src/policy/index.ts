/**
 * The command policy: pure functions from (rules, command line) to a decision with reasons.
 * See evaluate.ts for the semantics, and DESIGN.md "Command rules".
 */
import { MAX_LINE_LENGTH } from './evaluate.js';
import { parseShell } from './parser.js';
import { printable, resolveWord } from './words.js';

export { compileRules, type CompiledRules } from './rules.js';
export { evaluate, formatDecision, MAX_LINE_LENGTH, type Decision, type Reason } from './evaluate.js';

/** A simple command found in a line, for labelling (recordings, audit); not a verdict. */
export interface SimpleCommand {
  /** The command as written (assignments, words, redirections); safe to print. */
  readonly text: string;
  /** Each word after quote removal, or null where only the running shell knows it. */
  readonly argv: readonly (string | null)[];
}

export type SplitResult =
  | { readonly ok: true; readonly commands: readonly SimpleCommand[] }
  | { readonly ok: false; readonly why: string };

/**
 * Every simple command in a line, in the order the parser meets them (nested substitutions
 * before the command holding them). Wrapped commands (`sudo X`) are not unfolded: use evaluate
 * for decisions. Never throws.
 */
export function splitSimpleCommands(line: string): SplitResult {
  try {
    if (line.length > MAX_LINE_LENGTH) return { ok: false, why: `longer than ${MAX_LINE_LENGTH} characters` };
    if (line.includes('\0')) return { ok: false, why: 'contains a NUL character' };
    const parsed = parseShell(line.toWellFormed());
    if (!parsed.ok) return { ok: false, why: `cannot parse: ${parsed.why}` };
    const commands: SimpleCommand[] = [];
    for (const unit of parsed.units) {
      if (unit.kind !== 'simple' || unit.words.length === 0) continue;
      commands.push({ text: printable(unit.text), argv: unit.words.map((w) => resolveWord(w).value) });
    }
    return { ok: true, commands };
  } catch (err) {
    return { ok: false, why: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
}
