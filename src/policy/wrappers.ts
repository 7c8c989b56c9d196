/**
 * Wrappers: programs that run another command. Each returns where the wrapped command is.
 *
 * Transparent (need no rule of their own; deny/review rules still apply to them): nohup, time,
 * nice, timeout, stdbuf, ionice, command, builtin, exec, env. They change how a command runs,
 * not what it can do, so the wrapped command's verdict is theirs. (`env -S` is denied: it splits
 * a string into a new command line.)
 *
 * Not transparent (the wrapper must match a rule itself, e.g. `sudo *`, AND the inner command
 * must be allowed): sudo, doas, pkexec, su, runuser, xargs, find -exec/-execdir/-ok/-okdir,
 * watch, flock, setsid, chroot, strace, ltrace, busybox. They change who runs a command, run it
 * on data we cannot see, or detach it from the session. sh/bash/... -c live in interpreters.ts.
 *
 * Limits: the option tables follow GNU coreutils, util-linux, sudo 1.9 and procps; an option not
 * listed is refused, not guessed. Programs that run commands but are not modelled here (ssh,
 * nsenter, unshare, systemd-run, docker/kubectl exec, parallel, ...) are ordinary programs: a rule
 * allowing them allows whatever they run. `chroot DIR cmd` resolves cmd inside DIR, which the
 * policy cannot see; its rule should name DIR.
 */
import type { Arg } from './words.js';
import type { EnvAssign, Inner, Inspector, Special } from './special.js';
import { has, scanOptions, type OptionSpec } from './options.js';

const PLAIN: Special = { kind: 'plain' };
const UNKNOWN_INPUT: Arg = { value: null, multi: true, unknown: 'expansion', text: '<input>' };

function wrap(transparent: boolean, argv: readonly Arg[], from: number, assigns: readonly EnvAssign[] = []): Special {
  const inner: Inner[] = from < argv.length ? [{ kind: 'argv', argv: argv.slice(from), assigns }] : [];
  return { kind: 'wrapper', transparent, inner };
}

function deny(why: string): Special {
  return { kind: 'deny', why };
}

/** `NAME=value` words before the command (env, sudo). */
function takeAssigns(argv: readonly Arg[], from: number, name: string): { next: number; assigns: EnvAssign[] } | string {
  const assigns: EnvAssign[] = [];
  let i = from;
  for (; i < argv.length; i++) {
    const a = argv[i] as Arg;
    if (a.value === null) return `${name}: argument ${a.text} is not static; it could be an assignment or the command`;
    const eq = a.value.indexOf('=');
    if (eq <= 0) break;
    assigns.push({ name: a.value.slice(0, eq), value: a.value.slice(eq + 1), text: a.text });
  }
  return { next: i, assigns };
}

/** A simple "options, then the command" wrapper. */
function simple(transparent: boolean, spec: OptionSpec, noCommandWith: readonly string[] = []): Inspector {
  return (argv) => {
    const name = (argv[0] as Arg).value ?? '';
    const s = scanOptions(argv, 1, spec, name);
    if (!s.ok) return deny(s.why);
    if (has(s.seen, ...noCommandWith)) return { kind: 'wrapper', transparent, inner: [] };
    return wrap(transparent, argv, s.next);
  };
}

const sudoSpec: OptionSpec = {
  flags: 'ABbEeHhiKklNnPSsVv',
  withArg: 'CDgpRrTtUu',
  long: ['askpass', 'bell', 'background', 'edit', 'set-home', 'help', 'login', 'remove-timestamp', 'reset-timestamp', 'list', 'no-update', 'non-interactive', 'preserve-groups', 'stdin', 'shell', 'version', 'validate'],
  longArg: ['close-from', 'chdir', 'group', 'host', 'prompt', 'chroot', 'role', 'command-timeout', 'type', 'other-user', 'user'],
  longOpt: ['preserve-env'],
};

function sudo(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, sudoSpec, 'sudo');
  if (!s.ok) return deny(s.why);
  // -h alone is help; followed by anything it may be -h HOST and the command after it.
  if (has(s.seen, 'h') && argv.length > 2) return deny('sudo -h: help or a remote host; cannot tell where the wrapped command starts');
  // -e edits files, -l/-v/-k... list, validate or forget: no command runs (the rule decides).
  if (has(s.seen, 'e', 'edit', 'l', 'list', 'v', 'validate', 'K', 'remove-timestamp', 'V', 'version', 'h', 'help')) {
    return { kind: 'wrapper', transparent: false, inner: [] };
  }
  const a = takeAssigns(argv, s.next, 'sudo');
  if (typeof a === 'string') return deny(a);
  return wrap(false, argv, a.next, a.assigns);
}

const envSpec: OptionSpec = {
  flags: 'i0v',
  withArg: 'uCS',
  long: ['ignore-environment', 'null', 'debug', 'list-signal-handling'],
  longArg: ['unset', 'chdir', 'split-string'],
  longOpt: ['block-signal', 'default-signal', 'ignore-signal'],
  dashIsOption: true,
};

function env(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, envSpec, 'env');
  if (!s.ok) return deny(s.why);
  if (has(s.seen, 'S', 'split-string')) return deny('env -S splits a string into a new command line, which cannot be judged');
  const a = takeAssigns(argv, s.next, 'env');
  if (typeof a === 'string') return deny(a);
  if (a.next >= argv.length) return { kind: 'wrapper', transparent: true, inner: [] };
  return wrap(true, argv, a.next, a.assigns);
}

function timeout(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, { flags: 'v', withArg: 'sk', long: ['preserve-status', 'foreground', 'verbose'], longArg: ['signal', 'kill-after'] }, 'timeout');
  if (!s.ok) return deny(s.why);
  if (s.next >= argv.length) return { kind: 'wrapper', transparent: true, inner: [] };
  return wrap(true, argv, s.next + 1); // skip DURATION
}

function time(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, { flags: 'pvaq', withArg: 'fo', long: ['portability', 'verbose', 'append', 'quiet'], longArg: ['format', 'output'] }, 'time');
  if (!s.ok) return deny(s.why);
  if (has(s.seen, 'o', 'output')) return deny('time -o writes a file');
  return wrap(true, argv, s.next);
}

const xargsSpec: OptionSpec = {
  flags: '0rtpxo',
  withArg: 'adEILnPs',
  optArg: 'iel',
  long: ['null', 'no-run-if-empty', 'verbose', 'interactive', 'exit', 'open-tty', 'show-limits'],
  longArg: ['arg-file', 'delimiter', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
  longOpt: ['replace', 'eof', 'max-lines'],
};

/** xargs -I R / -i[R] / --replace[=R]: the string replaced by each input line (undefined: none). */
function replaceString(seen: ReadonlyMap<string, string | null>): string | null | undefined {
  if (seen.has('I')) return seen.get('I') ?? null;
  if (seen.has('i')) return seen.get('i') || '{}';
  if (seen.has('replace')) return seen.get('replace') || '{}';
  return undefined;
}

/** xargs appends arguments read from its input, which the policy cannot see. */
function xargs(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, xargsSpec, 'xargs');
  if (!s.ok) return deny(s.why);
  const replace = replaceString(s.seen);
  if (replace === null) return deny('xargs: the replacement string is not static');
  const command: Arg[] = s.next < argv.length ? argv.slice(s.next) : [{ value: 'echo', multi: false, unknown: null, text: 'echo' }];
  const inner = replace !== undefined
    ? command.map((a) => (a.value === null || a.value.includes(replace) ? { value: null, multi: a.multi, unknown: 'expansion' as const, text: a.text } : a))
    : [...command, UNKNOWN_INPUT];
  return { kind: 'wrapper', transparent: false, inner: [{ kind: 'argv', argv: inner, assigns: [] }] };
}

const FIND_EXEC = new Set(['-exec', '-execdir', '-ok', '-okdir']);

/** find runs -exec commands once per file found ({} is that unknown path). */
function find(argv: readonly Arg[]): Special {
  const inner: Inner[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as Arg;
    if (a.value === null) return deny(`find: argument ${a.text} is not static; it could be -exec`);
    if (!FIND_EXEC.has(a.value)) continue;
    const cmd: Arg[] = [];
    let j = i + 1;
    let end: string | null = null;
    for (; j < argv.length; j++) {
      const w = (argv[j] as Arg).value;
      if (w === ';' || (w === '+' && cmd.length > 0 && cmd[cmd.length - 1]?.value === '{}')) {
        end = w;
        break;
      }
      cmd.push(argv[j] as Arg);
    }
    if (end === null) return deny(`find: ${a.value} without a closing ; or +`);
    if (end === '+') cmd.pop();
    const found: Arg = { value: null, multi: end === '+', unknown: 'expansion', text: '{}' };
    const args = cmd.map((w) => (w.value !== null && w.value.includes('{}') ? { ...found, multi: false, text: w.text } : w));
    if (end === '+') args.push(found);
    inner.push({ kind: 'argv', argv: args, assigns: [] });
    i = j;
  }
  return inner.length === 0 ? PLAIN : { kind: 'wrapper', transparent: false, inner };
}

/** su and runuser: -c STR runs STR in the target user's shell. */
function su(argv: readonly Arg[]): Special {
  const name = (argv[0] as Arg).value ?? 'su';
  const spec: OptionSpec = {
    flags: 'lmpfP', withArg: name === 'runuser' ? 'cgGswu' : 'cgGsw', dashIsOption: true,
    long: ['login', 'preserve-environment', 'pty', 'fast'],
    longArg: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment', 'user'],
  };
  // util-linux permutes: options may follow the user name, so scan every word.
  const operands: Arg[] = [];
  let seen = new Map<string, string | null>();
  for (let i = 1; i < argv.length; ) {
    const s = scanOptions(argv, i, spec, name);
    if (!s.ok) return deny(s.why);
    seen = new Map([...seen, ...s.seen]);
    if (s.next < argv.length) operands.push(argv[s.next] as Arg);
    if (name === 'runuser' && has(seen, 'u', 'user') && s.next < argv.length) return wrap(false, argv, s.next);
    i = s.next + 1;
  }
  const command = seen.get('c') ?? seen.get('command') ?? seen.get('session-command');
  if (operands.length > 1) return deny(`${name}: extra arguments are passed to the shell as a script`);
  if (command === undefined) return { kind: 'wrapper', transparent: false, inner: [] };
  if (command === null) return deny(`${name} -c: the command is not static`);
  return { kind: 'wrapper', transparent: false, inner: [{ kind: 'script', source: command }] };
}

/** watch runs its arguments joined by spaces with sh -c, unless -x. */
function watch(argv: readonly Arg[]): Special {
  const spec: OptionSpec = {
    flags: 'bcCegptwrx', withArg: 'nq', optArg: 'd',
    long: ['beep', 'color', 'no-color', 'errexit', 'chgexit', 'precise', 'no-title', 'no-wrap', 'exec', 'no-rerun'],
    longArg: ['interval', 'equexit'], longOpt: ['differences'],
  };
  const s = scanOptions(argv, 1, spec, 'watch');
  if (!s.ok) return deny(s.why);
  if (has(s.seen, 'x', 'exec')) return wrap(false, argv, s.next);
  const rest = argv.slice(s.next);
  if (rest.some((a) => a.value === null)) return deny('watch: the command is not static');
  if (rest.length === 0) return { kind: 'wrapper', transparent: false, inner: [] };
  return { kind: 'wrapper', transparent: false, inner: [{ kind: 'script', source: rest.map((a) => a.value).join(' ') }] };
}

/** flock [opts] FILE cmd args | flock [opts] FILE -c STR | flock [opts] FD. */
function flock(argv: readonly Arg[]): Special {
  const spec: OptionSpec = {
    flags: 'sexnoFuhV', withArg: 'wE',
    long: ['shared', 'exclusive', 'unlock', 'nonblock', 'nb', 'close', 'no-fork', 'verbose', 'help', 'version'],
    longArg: ['wait', 'timeout', 'conflict-exit-code'],
  };
  const s = scanOptions(argv, 1, spec, 'flock');
  if (!s.ok) return deny(s.why);
  const after = s.next + 1;
  const flag = argv[after]?.value;
  if (flag === '-c' || flag === '--command') {
    const str = argv[after + 1]?.value;
    if (str === undefined || str === null) return deny('flock -c: the command is not static');
    return { kind: 'wrapper', transparent: false, inner: [{ kind: 'script', source: str }] };
  }
  return wrap(false, argv, after);
}

function chroot(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, { long: ['skip-chdir'], longArg: ['userspec', 'groups'] }, 'chroot');
  if (!s.ok) return deny(s.why);
  return wrap(false, argv, s.next + 1); // skip NEWROOT; no command = an interactive shell
}

function strace(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, { flags: 'AcCdDfFhikLnqrtTvVwxyzZ', withArg: 'abeIoOpPsSuEXU' }, 'strace');
  if (!s.ok) return deny(s.why);
  if (has(s.seen, 'E')) return deny("strace -E changes the traced program's environment");
  return wrap(false, argv, s.next);
}

function ltrace(argv: readonly Arg[]): Special {
  const s = scanOptions(argv, 1, { flags: 'bcCfhiLrStTV', withArg: 'aADeFlnopsuwx' }, 'ltrace');
  if (!s.ok) return deny(s.why);
  return wrap(false, argv, s.next);
}

/** busybox APPLET args: the applet is judged as the program of that name. */
function busybox(argv: readonly Arg[]): Special {
  const first = argv[1]?.value;
  if (first === undefined) return { kind: 'wrapper', transparent: false, inner: [] };
  if (first === null) return deny('busybox: the applet name is not static');
  if (first.startsWith('-')) return { kind: 'wrapper', transparent: false, inner: [] };
  return wrap(false, argv, 1);
}

export const WRAPPERS: Readonly<Record<string, Inspector>> = {
  nohup: simple(true, { long: ['help', 'version'] }),
  nice: simple(true, { withArg: 'n', longArg: ['adjustment'], numeric: true }),
  stdbuf: simple(true, { withArg: 'ioe', longArg: ['input', 'output', 'error'] }),
  ionice: simple(true, { flags: 't', withArg: 'cnpPu', long: ['ignore'], longArg: ['class', 'classdata', 'pid', 'pgid', 'uid'] }, ['p', 'P', 'u', 'pid', 'pgid', 'uid']),
  command: simple(true, { flags: 'pvV' }, ['v', 'V']),
  builtin: simple(true, {}),
  exec: simple(true, { flags: 'cl', withArg: 'a' }),
  env,
  timeout,
  time,
  sudo,
  doas: simple(false, { flags: 'Lns', withArg: 'Cu' }, ['C', 'L']),
  pkexec: simple(false, { long: ['disable-internal-agent', 'keep-cwd', 'version', 'help'], longArg: ['user'] }),
  su,
  runuser: su,
  xargs,
  find,
  watch,
  flock,
  setsid: simple(false, { flags: 'cfw', long: ['ctty', 'fork', 'wait'] }),
  chroot,
  strace,
  ltrace,
  busybox,
};
