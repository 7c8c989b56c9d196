/**
 * What the policy learns by looking inside a program's arguments (wrappers.ts, interpreters.ts).
 */
import type { Arg } from './words.js';

/** An environment assignment a wrapper passes on (`env X=1 cmd`, `sudo X=1 cmd`). */
export interface EnvAssign {
  readonly name: string;
  readonly value: string | null;
  readonly text: string;
}

/** A command a wrapper runs: an argv, or shell source text (`sh -c STR`, `watch 'a | b'`). */
export type Inner =
  | { readonly kind: 'argv'; readonly argv: readonly Arg[]; readonly assigns: readonly EnvAssign[] }
  | { readonly kind: 'script'; readonly source: string };

export type Special =
  /** Nothing special: judged by the rules alone. */
  | { readonly kind: 'plain' }
  /** Denied whatever the rules say. */
  | { readonly kind: 'deny'; readonly why: string }
  /**
   * Cannot be judged statically (an interpreter reading code from -c, stdin or a file): denied
   * unless an allow rule spells out this use with literal words up to argument `index`
   * (0-based, after the program; index === argument count means "ends here").
   */
  | { readonly kind: 'hazard'; readonly index: number; readonly why: string }
  /**
   * Runs other commands. `transparent` wrappers need no rule of their own (deny and review rules
   * still apply to them); the others must be allowed themselves. Every inner command is judged.
   * An empty `inner` means the wrapper runs nothing this time (`sudo -l`, `env` alone), and it is
   * judged by the rules like any command.
   */
  | { readonly kind: 'wrapper'; readonly transparent: boolean; readonly inner: readonly Inner[] };

export type Inspector = (argv: readonly Arg[]) => Special;
