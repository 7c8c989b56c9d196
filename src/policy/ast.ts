/**
 * The neutral syntax tree the policy judges. parser.ts produces it from mvdan-sh, behind one
 * function, `parseShell(source): ParseResult`; nothing else in policy/ knows which parser made
 * it, so the parser can be swapped by rewriting parser.ts, parser-words.ts and gopher.ts.
 *
 * The tree is deliberately flat: a command line becomes the list of every unit that would run or
 * that needs a verdict of its own, in source order. Nesting (pipelines, lists, subshells, loops,
 * command and process substitutions, here-documents) is already unfolded by the parser, because
 * the policy's answer does not depend on it: every simple command anywhere must be allowed.
 */

/**
 * One piece of a word as written, before quote removal (words.ts does bash's quote removal).
 * - `lit`: unquoted text; backslash escapes still in it (`r\m`), glob and brace characters live.
 * - `dqlit`: text inside "..." or $"..."; backslash escapes as written.
 * - `sgl`: the inside of '...', verbatim.
 * - `ansi`: the inside of $'...', C escapes as written.
 * - `dyn`: anything whose value is only known when the shell runs it: a parameter expansion,
 *   command or process substitution, or arithmetic. `quoted` is true inside "...", where it
 *   stays one argument; `multi` is true where it may become any number of arguments even
 *   quoted ("$@", "${a[@]}").
 * - `extglob`: an extended glob such as @(a|b), which is a pattern, never a fixed string.
 */
export type WordPart =
  | { readonly type: 'lit'; readonly raw: string }
  | { readonly type: 'dqlit'; readonly raw: string }
  | { readonly type: 'sgl'; readonly value: string }
  | { readonly type: 'ansi'; readonly raw: string }
  | { readonly type: 'dyn'; readonly what: DynKind; readonly quoted: boolean; readonly multi: boolean }
  | { readonly type: 'extglob' };

export type DynKind = 'parameter' | 'command' | 'process' | 'arithmetic';

export interface Word {
  readonly parts: readonly WordPart[];
  /** The word's source text, for messages. */
  readonly text: string;
}

export interface Assignment {
  readonly name: string;
  /** Null for a declaration without value (`local x`) or a loop variable. */
  readonly value: Word | null;
  readonly text: string;
}

/** Redirection operators, spelled as in bash. */
export type RedirOp = '>' | '>>' | '>|' | '<' | '<>' | '>&' | '<&' | '&>' | '&>>' | '<<' | '<<-' | '<<<';

export interface Redirect {
  readonly op: RedirOp;
  /** The descriptor written before the operator (`2>`), or a `{var}` name; null if none. */
  readonly fd: string | null;
  /** The file, descriptor or here-string; for here-documents, the delimiter. */
  readonly target: Word;
}

/**
 * A simple command: assignments, words and redirections. Also used, with no words, for a
 * statement that is only assignments (`X=1`), only redirections (`> f`), or for the redirections
 * of a compound command (`{ a; b; } > f`), and for loop variables (`for X in ...`).
 */
export interface SimpleUnit {
  readonly kind: 'simple';
  readonly assigns: readonly Assignment[];
  readonly words: readonly Word[];
  readonly redirects: readonly Redirect[];
  readonly text: string;
}

/**
 * A construct judged without rules:
 * - `function`, `coproc`: always denied (they define or start code the policy cannot follow).
 * - `arith`: arithmetic (`((...))`, `let`, `$((...))`, array subscripts, `${x:off:len}`);
 *   harmless with number literals only, denied when it reads variables or command output,
 *   because bash evaluates array subscripts found in a variable's value and so can run
 *   `a[$(cmd)]` hidden in it.
 * - `test`: `[[ ... ]]`, which runs nothing itself (its substitutions are separate units).
 * - `hazard`: something the parser saw that cannot be judged statically (why says what).
 */
export interface ConstructUnit {
  readonly kind: 'function' | 'coproc' | 'arith' | 'test' | 'hazard';
  /** For arith and test: true when it evaluates variables or substitutions arithmetically. */
  readonly dynamic: boolean;
  readonly why: string;
  readonly text: string;
}

export type Unit = SimpleUnit | ConstructUnit;

export type ParseResult =
  | { readonly ok: true; readonly units: readonly Unit[] }
  | { readonly ok: false; readonly why: string };
