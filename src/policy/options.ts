/**
 * A small getopt for the wrappers and interpreters the policy looks inside (wrappers.ts,
 * interpreters.ts). It exists to find where a wrapped command starts, so it fails closed: an
 * option it does not know, an abbreviated long option, or an option word whose value is unknown
 * is an error, because guessing whether that option takes an argument would shift the inner
 * command by one word.
 */
import type { Arg } from './words.js';

export interface OptionSpec {
  /** Short options without an argument. */
  readonly flags?: string;
  /** Short options taking an argument, attached (`-n5`) or as the next word (`-n 5`). */
  readonly withArg?: string;
  /** Short options whose argument, if any, must be attached (`xargs -i{}`). */
  readonly optArg?: string;
  readonly long?: readonly string[];
  /** Long options taking an argument, `--name=value` or `--name value`. */
  readonly longArg?: readonly string[];
  /** Long options with an optional `=value`. */
  readonly longOpt?: readonly string[];
  /** Accept `-N` numbers as options (nice -5). */
  readonly numeric?: boolean;
  /** Stop at `-` alone instead of treating it as an operand. */
  readonly dashIsOption?: boolean;
}

export type Scan =
  | { readonly ok: true; readonly next: number; readonly seen: ReadonlyMap<string, string | null> }
  | { readonly ok: false; readonly why: string };

/** Scans options from argv[start]; `next` is the index of the first operand. */
export function scanOptions(argv: readonly Arg[], start: number, spec: OptionSpec, name: string): Scan {
  const seen = new Map<string, string | null>();
  const fail = (why: string): Scan => ({ ok: false, why: `${name}: ${why}; cannot tell where the wrapped command starts` });
  let i = start;
  for (; i < argv.length; i++) {
    const word = (argv[i] as Arg).value;
    if (word === null) return fail(`argument ${(argv[i] as Arg).text} is not static`);
    if (word === '--') return { ok: true, next: i + 1, seen };
    if (word === '-' && spec.dashIsOption) {
      seen.set('-', '');
      continue;
    }
    if (!word.startsWith('-') || word === '-') break;
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const key = eq < 0 ? word.slice(2) : word.slice(2, eq);
      if (spec.longArg?.includes(key)) {
        if (eq >= 0) seen.set(key, word.slice(eq + 1));
        else {
          if (i + 1 >= argv.length) return fail(`--${key} needs a value`);
          seen.set(key, (argv[++i] as Arg).value);
        }
      } else if (spec.longOpt?.includes(key)) {
        seen.set(key, eq < 0 ? '' : word.slice(eq + 1));
      } else if (spec.long?.includes(key) && eq < 0) {
        seen.set(key, '');
      } else {
        return fail(`unknown option --${key}`);
      }
      continue;
    }
    if (spec.numeric && /^-[0-9]+$/.test(word)) {
      seen.set('numeric', word.slice(1));
      continue;
    }
    for (let j = 1; j < word.length; j++) {
      const c = word[j] as string;
      if (spec.flags?.includes(c)) {
        seen.set(c, '');
      } else if (spec.withArg?.includes(c)) {
        if (j + 1 < word.length) seen.set(c, word.slice(j + 1));
        else if (i + 1 < argv.length) seen.set(c, (argv[++i] as Arg).value);
        else return fail(`-${c} needs a value`);
        break;
      } else if (spec.optArg?.includes(c)) {
        seen.set(c, word.slice(j + 1));
        break;
      } else {
        return fail(`unknown option -${c}`);
      }
    }
  }
  return { ok: true, next: i, seen };
}

/** True if any of the keys was seen. */
export function has(seen: ReadonlyMap<string, string | null>, ...keys: string[]): boolean {
  return keys.some((k) => seen.has(k));
}
