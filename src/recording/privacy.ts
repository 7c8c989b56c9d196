/**
 * Keystrokes typed at a password prompt are not recorded. Terminals do not tell the broker when
 * echo is off (an ssh target's termios is on the far side), so the prompt is recognised by what
 * the target printed last: when the current output line ends like a password prompt
 * ("[sudo] password for alice: ", "Password:", "Enter passphrase for key '...': ", "PIN: ",
 * "Verification code: "), input is left out of the recording up to and including the Enter that
 * answers it. The responder's keystrokes still reach the target, of course.
 *
 * A heuristic, stated as one: a prompt that looks like none of these is not recognised. The
 * redactor (redact.ts) still applies to recorded input, and `recordings.input: false` records no
 * keystrokes at all.
 */

const PROMPT = /(?:password|passphrase|passcode|\bpin|verification code|one-time code|\botp|secret)[^\n]{0,80}[:?][ \t]*$/i;
const TAIL = 160;

export class InputPrivacy {
  /** The end of the current output line (after the last newline), bounded. */
  private line = '';
  private secret = false;

  /** Follows the target's output (only the end of the last line is kept). */
  output(text: string): void {
    const nl = text.lastIndexOf('\n');
    if (nl >= 0) this.line = text.length - nl - 1 > TAIL ? text.slice(-TAIL) : text.slice(nl + 1);
    else this.line = this.line.length + text.length > TAIL ? (this.line + text).slice(-TAIL) : this.line + text;
  }

  /** Returns the part of `text` that may be recorded. */
  input(text: string): string {
    if (!this.secret && PROMPT.test(stripEscapes(this.line))) this.secret = true;
    if (!this.secret) return text;
    const enter = text.search(/[\r\n]/);
    if (enter < 0) return '';
    this.secret = false;
    // The answer ends at Enter; the prompt's line is answered, so it no longer counts.
    this.line = '';
    return text.slice(enter + 1);
  }
}

function stripEscapes(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.includes('\x1b') ? s.replace(/\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g, '') : s;
}
