/**
 * Interpreters: programs that run code the policy cannot read from their arguments.
 *
 * POSIX-family shells with `-c STR` are wrappers: STR is parsed and every command in it judged,
 * and the shell itself must be allowed by a rule (`bash -c *`). Any other shell use runs code
 * from a file or from its input (`curl x | sh`, `bash < f`, `bash script.sh`, `bash` alone).
 *
 * For the other interpreters (python, perl, ruby, node, php, lua, tclsh, expect, Rscript, pwsh,
 * and non-POSIX shells), every use except asking for the version or help runs unseen code: from
 * -c/-e, a module (-m, -M, -r), a script file, or standard input. That is a hazard: denied unless
 * an allow rule spells the use out in literal words up to the word that brings the code in
 * (`python3 -c *` allows `python3 -c 'print(1)'`; `python3 *` does not). We locate that word
 * precisely so a rule like `python3 -u *` cannot stand in for `-c`.
 *
 * Limits: awk, sed, find, vim, less, git and many other programs can also run code (awk
 * system(), sed's `e` command, less `!`); they are not interpreters here, so a rule allowing them
 * allows that too. Write narrow rules for them.
 */
import type { Arg } from './words.js';
import type { Inspector, Special } from './special.js';

const PLAIN: Special = { kind: 'plain' };

interface Lang {
  /** Short option letters that bring code in (inline code, module, file, interactive). */
  readonly code: string;
  /** Short option letters that take the next word as a (non-code) value when last in a cluster. */
  readonly withArg: string;
  readonly codeLong: readonly string[];
  readonly argLong: readonly string[];
  /** Whole-argument-list forms that only print information. */
  readonly info: readonly string[];
  /** Any option at all brings code in (pwsh, fish...): no option is considered harmless. */
  readonly anyOption?: boolean;
}

const LANGS: ReadonlyArray<readonly [RegExp, Lang]> = [
  [/^(?:python|pypy)[0-9.]*$/, { code: 'cmi', withArg: 'WX', codeLong: [], argLong: ['check-hash-based-pycs'], info: ['-V', '-VV', '--version', '-h', '--help'] }],
  [/^perl[0-9.]*$/, { code: 'eEMmdix', withArg: '', codeLong: [], argLong: [], info: ['-v', '-V', '--version', '-h', '--help'] }],
  [/^(?:ruby[0-9.]*|irb)$/, { code: 'erix', withArg: 'CEIF', codeLong: ['require', 'eval'], argLong: [], info: ['--version', '-h', '--help'] }],
  [/^(?:node|nodejs)$/, { code: 'epri', withArg: 'C', codeLong: ['eval', 'print', 'require', 'import', 'loader', 'experimental-loader', 'interactive', 'input-type', 'env-file'], argLong: ['title'], info: ['-v', '--version', '-h', '--help'] }],
  [/^php[0-9.]*$/, { code: 'rBRFEafdi', withArg: 'cz', codeLong: [], argLong: [], info: ['-v', '--version', '-h', '--help', '-m'] }],
  [/^(?:lua[0-9.]*|luajit)$/, { code: 'eli', withArg: '', codeLong: [], argLong: [], info: ['-v'] }],
  [/^(?:tclsh|wish|expect)[0-9.]*$/, { code: 'cfi', withArg: '', codeLong: [], argLong: [], info: ['-v'] }],
  [/^Rscript$/, { code: 'e', withArg: '', codeLong: [], argLong: [], info: ['--version', '--help'] }],
  [/^(?:pwsh|powershell|fish|csh|tcsh|elvish|nu|xonsh)$/, { code: '', withArg: '', codeLong: [], argLong: [], info: ['--version', '-v', '-Version'], anyOption: true }],
];

/** Index (0-based, after the program) of the word that brings code in; args.length if none. */
function codeIndex(args: readonly Arg[], lang: Lang): number {
  for (let i = 0; i < args.length; i++) {
    const w = (args[i] as Arg).value;
    if (w === null || w === '-' || !w.startsWith('-') || lang.anyOption) return i;
    if (w === '--') return i + 1;
    if (w.startsWith('--')) {
      const key = w.slice(2).split('=')[0] ?? '';
      if (lang.codeLong.includes(key)) return i;
      if (lang.argLong.includes(key) && !w.includes('=')) i++;
      continue; // other long options are settings; a rule must still spell them out to reach the code
    }
    const letters = w.slice(1);
    if ([...letters].some((c) => lang.code.includes(c))) return i;
    if (lang.withArg.includes(letters[letters.length - 1] ?? '')) i++;
  }
  return args.length;
}

function language(lang: Lang): Inspector {
  return (argv) => {
    const args = argv.slice(1);
    const values = args.map((a) => a.value);
    if (values.length > 0 && values.every((v) => v !== null && lang.info.includes(v))) return PLAIN;
    const index = codeIndex(args, lang);
    const w = args[index];
    const why = w === undefined ? 'reads code from its input' : w.value === '-' ? 'reads code from its input' : w.value?.startsWith('-') ? `runs code given by ${w.value.split('=')[0]}` : `runs a script file or code the policy cannot read (${w.text})`;
    return { kind: 'hazard', index, why: `${(argv[0] as Arg).value ?? 'interpreter'} ${why}` };
  };
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ksh93', 'mksh', 'lksh', 'ash', 'rbash', 'posh', 'yash']);
const SHELL_LONG = new Set(['norc', 'noprofile', 'login', 'posix', 'restricted', 'verbose', 'noediting', 'debugger', 'dump-strings', 'dump-po-strings', 'help', 'version', 'pretty-print']);

/** sh/bash/...: `-c STR` is a wrapper; anything else reads a script or the input. */
function shell(argv: readonly Arg[]): Special {
  const name = (argv[0] as Arg).value ?? 'sh';
  let command = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i] as Arg;
    if (a.value === null) {
      if (command) return { kind: 'deny', why: `${name} -c: the command ${a.text} is not static` };
      return { kind: 'hazard', index: i - 1, why: `${name}: argument ${a.text} is not static` };
    }
    const w = a.value;
    if (w === '--' || w === '-') {
      i++;
      break;
    }
    if (w.startsWith('--')) {
      if (SHELL_LONG.has(w.slice(2))) continue;
      return { kind: 'hazard', index: i - 1, why: `${name} ${w} runs a file or is not understood` };
    }
    if (!w.startsWith('-') && !w.startsWith('+')) break;
    for (let j = 1; j < w.length; j++) {
      if (w[j] === 'c') command = true;
      if (w[j] === 'o' || w[j] === 'O') i++; // -o option-name
    }
  }
  if (command) {
    const script = argv[i];
    if (script === undefined) return { kind: 'deny', why: `${name} -c needs a command` };
    if (script.value === null) return { kind: 'deny', why: `${name} -c: the command ${script.text} is not static` };
    return { kind: 'wrapper', transparent: false, inner: [{ kind: 'script', source: script.value }] };
  }
  const operand = argv[i];
  const why = operand === undefined ? 'reads commands from its input' : `runs the script ${operand.text}`;
  return { kind: 'hazard', index: Math.min(i, argv.length) - 1, why: `${name} ${why}` };
}

/** The inspector for an interpreter name, if it is one. */
export function interpreterFor(name: string): Inspector | null {
  if (SHELLS.has(name)) return shell;
  for (const [re, lang] of LANGS) if (re.test(name)) return language(lang);
  return null;
}
