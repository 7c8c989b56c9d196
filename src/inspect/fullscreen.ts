/**
 * Full-screen programs. Inside one, keys go straight through and Enter is not judged (a text
 * editor's Enter is not a command). The broker lets a session in only when the line that was just
 * allowed starts a program known to be full-screen: allowing that program is the template's
 * decision, and it already gives whatever the program can do (`less` and `vi` run shell commands
 * with `!`). An alternate-screen switch printed by anything else (`printf '\e[?1049h'`, `cat` of
 * a hostile file, a pager opened by an allowed command) does not stop inspection: lines keep being
 * read from the alternate screen and judged.
 */
import { splitSimpleCommands } from '../policy/index.js';

/** Programs that take over the terminal (by file name, in any directory). */
export const FULL_SCREEN_PROGRAMS: ReadonlySet<string> = new Set([
  'vi', 'vim', 'nvim', 'view', 'vimdiff', 'rvim', 'nano', 'pico', 'emacs', 'mg', 'joe', 'micro',
  'less', 'more', 'most', 'man', 'top', 'htop', 'atop', 'btop', 'iotop', 'iftop', 'nethogs', 'watch',
  'tmux', 'screen', 'mc', 'ncdu', 'nmtui', 'mutt', 'tig', 'lnav', 'k9s', 'glances', 'ctop',
]);

/** Wrappers whose next word is the program (options and assignments skipped). */
const WRAPPERS: ReadonlySet<string> = new Set(['sudo', 'doas', 'env', 'nohup', 'time', 'nice', 'ionice', 'stdbuf', 'command', 'exec']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** True when some simple command of the line runs a full-screen program. */
export function opensFullScreen(line: string): boolean {
  const split = splitSimpleCommands(line);
  if (!split.ok) return false;
  return split.commands.some((c) => {
    for (const word of c.argv) {
      if (word === null) return false;
      const base = word.slice(word.lastIndexOf('/') + 1);
      if (WRAPPERS.has(base) || word.startsWith('-') || ASSIGNMENT.test(word)) continue;
      return FULL_SCREEN_PROGRAMS.has(base);
    }
    return false;
  });
}
