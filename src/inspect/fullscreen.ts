/**
 * Full-screen programs. Inside one, keys go straight through and Enter is not judged (a text
 * editor's Enter is not a command). The broker lets a session in only when the line just allowed
 * is one simple command that runs a program known to be full-screen: allowing that program is the
 * template's decision, and it already gives whatever the program can do (`less` and `vi` run
 * shell commands with `!`). Not for a list, pipeline or substitution (`top -b >/dev/null; printf
 * '\e[?1049h'`): another command of the line could print the switch. An alternate-screen switch
 * printed by anything else (`printf '\e[?1049h'`, `cat` of a hostile file, a pager opened by an
 * allowed command) does not stop inspection: lines keep being read from the alternate screen and
 * judged.
 *
 * Leaving: the program switches back, the shell marks its prompt (integration), or readline
 * switches bracketed paste on again at its prompt. Editors and multiplexers switch bracketed
 * paste on themselves (PASTES), so for them the last sign is not taken.
 */
import { splitSimpleCommands } from '../policy/index.js';

/** Programs that take over the terminal (by file name, in any directory). */
export const FULL_SCREEN_PROGRAMS: ReadonlySet<string> = new Set([
  'vi', 'vim', 'nvim', 'view', 'vimdiff', 'rvim', 'nano', 'pico', 'emacs', 'mg', 'joe', 'micro',
  'less', 'more', 'most', 'man', 'top', 'htop', 'atop', 'btop', 'iotop', 'iftop', 'nethogs', 'watch',
  'tmux', 'screen', 'mc', 'ncdu', 'nmtui', 'mutt', 'tig', 'lnav', 'k9s', 'glances', 'ctop',
]);

/** Full-screen programs that switch bracketed paste on themselves (editors, multiplexers, shells inside). */
const PASTES: ReadonlySet<string> = new Set([
  'vi', 'vim', 'nvim', 'view', 'vimdiff', 'rvim', 'nano', 'pico', 'emacs', 'mg', 'joe', 'micro',
  'tmux', 'screen', 'mc', 'mutt', 'lnav', 'k9s',
]);

/** Wrappers whose next word is the program (options and assignments skipped). */
const WRAPPERS: ReadonlySet<string> = new Set(['sudo', 'doas', 'env', 'nohup', 'time', 'nice', 'ionice', 'stdbuf', 'command', 'exec']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** The full-screen program the line runs when it is one simple command running one, else null. */
export function fullScreenProgram(line: string): string | null {
  const split = splitSimpleCommands(line);
  if (!split.ok || split.commands.length !== 1) return null;
  for (const word of split.commands[0]?.argv ?? []) {
    if (word === null) return null;
    const base = word.slice(word.lastIndexOf('/') + 1);
    if (WRAPPERS.has(base) || word.startsWith('-') || ASSIGNMENT.test(word)) continue;
    return FULL_SCREEN_PROGRAMS.has(base) ? base : null;
  }
  return null;
}

/** True when the program itself switches bracketed paste on (so that is no sign of the shell's prompt). */
export function pastesItself(program: string): boolean {
  return PASTES.has(program);
}
