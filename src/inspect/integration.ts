/**
 * Shell integration: at session start (when the template asks for it) the broker types one line
 * into the shell that makes bash or zsh print OSC 133 marks carrying a per-session nonce:
 *
 *   A  prompt starts       (bash: PROMPT_COMMAND, after D; zsh: a precmd hook)
 *   B  command starts      (end of PS1: the cursor is right after the prompt)
 *   C  command runs        (bash: PS0, printed after the line is accepted; zsh: a preexec hook)
 *   D;code  it finished    (with $?, where A is printed)
 *
 * and that closes the pager and editor doors the line policy cannot see: PAGER, SYSTEMD_PAGER and
 * GIT_PAGER are `cat` (so `systemctl status` and `journalctl` do not open `less`, whose `!cmd`
 * runs commands), LESSSECURE=1 and SYSTEMD_PAGERSECURE=1 for an explicitly allowed `less`, and
 * the key bindings that run or expand a line without an Enter the broker holds are removed (the
 * key guard, guard.ts, refuses them too; this covers a guard that misreads the editing mode):
 * bash: edit and execute (Ctrl-X Ctrl-E, vi `v`), keyboard macros (Ctrl-X ( ) e), re-reading
 * ~/.inputrc (Ctrl-X Ctrl-R), insert-comment (Esc #, vi `#`), shell-expand-line (Esc Ctrl-E),
 * each in its own keymap (emacs, vi-command) whatever mode the shell is in; zsh: the
 * edit-command-line widget wherever it is bound, accept-and-hold (Esc a), expand-word (Ctrl-X *)
 * and vi `#` (pound-insert). zsh's completion (Tab) expands `$(...)` in the word it completes
 * and cannot be switched off here (see the README). In bash the line deletes itself
 * from the history; zsh cannot delete a history entry, so there it stays in the session's history
 * (`history` and ↑ show it, nonce included: the nonce keeps the *target's output* from forging
 * marks, and the responder who typed nothing of it learns it only from there).
 *
 * The responder never sees it: from the moment it is typed until the shell prints the sentinel
 * (OSC 6973;ready;NONCE;KIND), target output is diverted to the emulator only (not to the client,
 * the recording or watchers), and the typed line is not recorded as input. The first prompt was
 * already shown; the new one is drawn over it. The recording therefore shows the first prompt,
 * then the same prompt redrawn, and nothing of the setup.
 *
 * The line is POSIX sh syntax throughout (zsh-only commands are plain commands in a branch sh never
 * takes). Other shells (sh, dash) run it harmlessly and answer with an empty KIND: inspection then
 * works from the screen alone, without marks.
 */
import { randomBytes } from 'node:crypto';

export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

/** The one line typed into the shell (without the final Enter). POSIX sh safe. */
export function setupLine(nonce: string): string {
  const osc = (body: string): string => `\\033]133;${body};gh=${nonce}\\007`;
  const bash = [
    `__gh_mark() { local s=$?; printf '${osc('D;%s')}${osc('A')}' "$s"; return $s; }`,
    'PROMPT_COMMAND="__gh_mark${PROMPT_COMMAND:+;$PROMPT_COMMAND}"',
    `PS1="\${PS1}"'\\[${osc('B')}\\]'`,
    `PS0="\${PS0-}"'${osc('C')}'`,
    // Errors (an unknown keymap in an old bash) must not stop the rest.
    ...['\\C-x\\C-e', '\\C-x(', '\\C-x)', '\\C-xe', '\\C-x\\C-r', '\\e#', '\\e\\C-e'].map((k) => `bind -m emacs -r "${k}" 2>/dev/null`),
    'bind -m vi-command -r v 2>/dev/null',
    'bind -m vi-command -r "#" 2>/dev/null',
    'history -d -1 2>/dev/null',
  ].join('; ');
  const zsh = [
    `__gh_precmd() { local s=$?; printf '${osc('D;%s')}${osc('A')}' "$s"; return $s; }`,
    `__gh_preexec() { printf '${osc('C')}'; }`,
    'autoload -Uz add-zsh-hook',
    'add-zsh-hook precmd __gh_precmd',
    'add-zsh-hook preexec __gh_preexec',
    `PS1="\${PS1}%{$(printf '${osc('B')}')%}"`,
    "bindkey -r '^X^E' 2>/dev/null",
    "bindkey -M emacs -r '^[a' '^[A' '^X*' 2>/dev/null",
    "bindkey -M vicmd -r '#' 2>/dev/null",
    // The widget itself, wherever a user's config bound it (oh-my-zsh's vi-mode: `vv`).
    'zle -D edit-command-line 2>/dev/null',
  ].join('; ');
  const env = 'export PAGER=cat SYSTEMD_PAGER=cat GIT_PAGER=cat LESSSECURE=1 SYSTEMD_PAGERSECURE=1';
  const kind = '"${BASH_VERSION:+bash}${ZSH_VERSION:+zsh}"';
  return `${env}; if [ -n "\${BASH_VERSION-}" ]; then ${bash}; elif [ -n "\${ZSH_VERSION-}" ]; then ${zsh}; fi; printf '\\033]6973;ready;%s;%s\\007' ${nonce} ${kind}`;
}

/** The sentinel the setup line prints last; KIND is `bash`, `zsh` or empty. */
export function sentinel(nonce: string): RegExp {
  return new RegExp(`\\x1b\\]6973;ready;${nonce};(bash|zsh|)\\x07`);
}

/** Shells that print marks once the setup line has run. */
export const MARKING_SHELLS: ReadonlySet<string> = new Set(['bash', 'zsh']);

/**
 * Hides setup output: everything up to and including the sentinel is swallowed (fed to the
 * emulator by the caller); what follows is relayed, preceded once by CR + erase-line so the new
 * prompt replaces the first one on the responder's screen.
 */
export class SetupDiverter {
  private seen = '';
  private done: 'no' | 'yes' | 'redraw-sent' = 'no';
  kind: string | null = null;

  constructor(private readonly pattern: RegExp) {}

  /** Returns [hidden part, part to relay] of a chunk. */
  split(chunk: Buffer): [hidden: Buffer | null, relay: Buffer | null] {
    if (this.done === 'redraw-sent') return [null, chunk];
    if (this.done === 'yes') {
      this.done = 'redraw-sent';
      return [null, Buffer.concat([CLEAR_LINE, chunk])];
    }
    const before = this.seen.length;
    this.seen += chunk.toString('latin1');
    const m = this.pattern.exec(this.seen);
    if (m === null) {
      if (this.seen.length > 256 * 1024) this.seen = this.seen.slice(-4096);
      return [chunk, null];
    }
    this.kind = m[1] ?? '';
    const end = m.index + m[0].length - before;
    this.seen = '';
    this.done = 'yes';
    const rest = chunk.subarray(end);
    if (rest.length === 0) return [chunk, null];
    this.done = 'redraw-sent';
    return [chunk.subarray(0, end), Buffer.concat([CLEAR_LINE, rest])];
  }

  /** The sentinel was seen. */
  get finished(): boolean {
    return this.done !== 'no';
  }

  /** Everything from here on is relayed untouched: the diverter can go. */
  get passing(): boolean {
    return this.done === 'redraw-sent';
  }
}

const CLEAR_LINE = Buffer.from('\r\x1b[K');
