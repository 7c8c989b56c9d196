/**
 * Which variables a line may assign: bare (`x=1`), as a loop variable (`for x in`), through a
 * builtin (`read x`, `printf -v x`, `declare x=1`, `export`, `unset`), or in front of a command
 * (`LC_ALL=C sort`, also through env and sudo).
 *
 * An allow-list, because a deny-list of hazardous names cannot be complete. Names that change
 * what later commands run include bash's own (PROMPT_COMMAND, PS0-PS4, IFS, PATH, BASH_ENV,
 * histchars, which moves history expansion out of the policy's sight, MAILPATH, whose messages
 * undergo command substitution at a later prompt), zsh's (path, aliases, functions,
 * precmd_functions, ...), and every program's environment (LD_*, GIT_*, LESSSECURE,
 * SYSTEMD_PAGERSECURE, PAGER, ...): assigning a name that is already exported changes the
 * environment of every later command, and the policy cannot see what is exported.
 *
 * A bare assignment may set:
 * - a name with a lowercase letter. POSIX leaves that namespace to applications ("applications
 *   can define any environment variables with names from this name space without modifying the
 *   behavior of the standard utilities", XBD 8.1). Except the lowercase names that bash, zsh or
 *   common tools do give a meaning (LOWER_RESERVED, `*_functions` hook arrays, `*_proxy`);
 * - a single uppercase letter (`N=50`), which no shell or common tool reads;
 * - LANG, LANGUAGE, LC_* and TZ; LANG and LC_* only to C, POSIX or a UTF-8 locale, because a
 *   locale such as Big5 or GBK makes bash read some bytes of a multibyte character as `\` or
 *   `` ` ``, and the policy reads lines as UTF-8.
 * Every other name, i.e. every other all-uppercase name, belongs to the shell or to programs'
 * environments, and is refused.
 *
 * In front of a command the variable is exported to that command, so the list is narrower and
 * names what formats output only: locale, time zone, terminal size and colour, and pagers set to
 * '' or cat (which is safer than their default).
 */

/** Lowercase names with a meaning: bash's, zsh's special parameters and zsh/parameter tables. */
const LOWER_RESERVED: ReadonlySet<string> = new Set([
  // bash
  'histchars', 'auto_resume',
  // zsh special parameters (zshparam(1)); tied arrays change PATH, cd, mail and prompt handling
  'argv', 'cdpath', 'fignore', 'fpath', 'histchars', 'mailpath', 'manpath', 'module_path', 'path', 'prompt', 'psvar',
  'watch', 'zle_bracketed_paste', 'zle_highlight', 'region_highlight', 'pipestatus', 'signals', 'status',
  'zsh_eval_context', 'zsh_scheduled_events', 'termcap', 'terminfo', 'sysparams', 'errnos', 'epochtime',
  // zsh/parameter and friends: assigning them defines aliases, functions, command paths, options, files
  'aliases', 'galiases', 'saliases', 'builtins', 'commands', 'functions', 'functions_source', 'options', 'parameters',
  'modules', 'nameddirs', 'userdirs', 'usergroups', 'reswords', 'patchars', 'history', 'historywords', 'jobdirs',
  'jobstates', 'jobtexts', 'funcstack', 'functrace', 'funcfiletrace', 'funcsourcetrace', 'widgets', 'keymaps',
  'dis_aliases', 'dis_galiases', 'dis_saliases', 'dis_builtins', 'dis_functions', 'dis_functions_source',
  'dis_reswords', 'dis_patchars', 'mapfile', '_comps',
]);
/** zsh hook arrays (precmd_functions, ...) and the proxies curl, wget and others obey. */
const LOWER_RESERVED_PATTERN = /_functions$|_proxy$/i;

const LOCALE_VALUE = /^(?:|C|POSIX|C\.(?:UTF-?8|utf-?8)|[A-Za-z]{2,3}(?:_[A-Za-z]{2})?\.(?:UTF-?8|utf-?8)(?:@[A-Za-z0-9]+)?)$/;

/** Bare (or builtin, or loop) assignments: null if allowed, else why not. `value` null: unknown. */
export function assignProblem(name: string, value: string | null): string | null {
  if (/[a-z]/.test(name)) {
    if (LOWER_RESERVED.has(name) || LOWER_RESERVED_PATTERN.test(name)) return `assigning ${name} changes what the shell or later commands do`;
    return null;
  }
  if (/^[A-Z]$/.test(name) || name === 'LANGUAGE' || name === 'TZ') return null;
  if (name === 'LANG' || name.startsWith('LC_')) return localeProblem(name, value);
  return `assigning ${name} is not allowed: uppercase names belong to the shell and to programs' environments (use a lowercase name, a single letter, or LANG, LC_*, TZ)`;
}

function localeProblem(name: string, value: string | null): string | null {
  if (value !== null && LOCALE_VALUE.test(value)) return null;
  return `${name} may only be set to C, POSIX or a UTF-8 locale: another locale changes how bash reads the line`;
}

/** Variables that may prefix a command (`LC_ALL=C sort`): only these, as they only format. */
const PREFIX_ALLOWED = new Set(['LANGUAGE', 'TZ', 'TERM', 'COLUMNS', 'LINES', 'NO_COLOR', 'SYSTEMD_COLORS', 'SYSTEMD_URLIFY', 'TIME_STYLE', 'POSIXLY_CORRECT']);
/** Pagers may be switched off (which is safer than their default): empty or cat only. */
const PAGERS = new Set(['PAGER', 'SYSTEMD_PAGER', 'MANPAGER', 'GIT_PAGER']);

/** Why an environment assignment in front of a command is refused, or null if it is fine. */
export function prefixAssignProblem(name: string, value: string | null): string | null {
  if (PREFIX_ALLOWED.has(name)) return null;
  if (name === 'LANG' || name.startsWith('LC_')) return localeProblem(name, value);
  if (PAGERS.has(name) && (value === '' || value === 'cat')) return null;
  return `setting ${name} for a command can change what it runs (only locale, time zone, terminal size and colour variables may be set)`;
}
