/**
 * What a command reads through its redirections, as opposed to its arguments.
 *
 * - Input redirections from a file (`sort < /etc/shadow`, `grep x 3< f`) are judged as if the
 *   file were one more argument: the command must still be allowed with the file appended, so
 *   a command whose rule limits it to /var/log/** cannot be fed another file on its input. The
 *   rule that allows the command as typed is the one reported.
 * - A unit with no command (the redirections of `{ ...; } < f`, `while ...; done < f`, or a
 *   statement that is only redirections) cannot be matched to any rule, so an input
 *   redirection from a file there is refused; put it on the command that reads it.
 * - `exec` without a command changes the shell's own descriptors. Redirecting standard input
 *   makes an interactive shell read its next commands from there (`exec <<< 'rm -rf /'`,
 *   `exec < file`, `exec <&3`), unseen by the policy, so any redirection of descriptor 0 is
 *   refused; opening a file for reading (`exec 3< f`) is refused too, because no rule vouches for
 *   the later commands that read it through `<&3`.
 * /dev/null is always fine; here-documents and here-strings are text the policy has read.
 */
import type { Redirect } from './ast.js';
import { normalizePath } from './glob.js';
import { resolveWord, type Arg } from './words.js';

/** The files a command reads through `<` redirections (any descriptor), as arguments. */
export function inputFiles(redirects: readonly Redirect[]): Arg[] {
  const out: Arg[] = [];
  for (const r of redirects) {
    if (r.op !== '<') continue;
    const target = resolveWord(r.target);
    // A target that is not static was already refused (redirectProblem); keep it unknown here.
    if (target.value !== null && normalizePath(target.value) === '/dev/null') continue;
    out.push({ value: target.value, multi: false, unknown: target.value === null ? 'expansion' : null, text: r.target.text });
  }
  return out;
}

/** Why the redirections of a unit without a command are refused, or null. */
export function commandlessInputProblem(redirects: readonly Redirect[]): string | null {
  const file = inputFiles(redirects)[0];
  if (file === undefined) return null;
  return `input redirection from ${file.text} without a command, or on a compound command, cannot be matched to a rule; put it on the command that reads it`;
}

/** Does this redirection replace standard input? */
function touchesStdin(r: Redirect): boolean {
  if (r.fd === null) return r.op.startsWith('<');
  return /^0+$/.test(r.fd);
}

/** Why the redirections of `exec` without a command are refused, or null. */
export function bareExecProblem(redirects: readonly Redirect[]): string | null {
  const stdin = redirects.find(touchesStdin);
  if (stdin !== undefined) {
    return `exec without a command redirecting standard input (${stdin.fd ?? ''}${stdin.op}) makes the shell read its next commands from there, unjudged`;
  }
  const file = inputFiles(redirects)[0];
  if (file !== undefined) return `exec without a command opens ${file.text} for later commands, which no rule can vouch for`;
  return null;
}
