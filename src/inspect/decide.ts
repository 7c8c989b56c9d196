/**
 * What to do with a held Enter, given the settled screen: the decision step of the inspector,
 * pure (the screen, prompts and policy come in; an action comes out) so it is tested alone.
 *
 * Order: a secret line (password prompt, nothing echoed) is released unjudged; a dirty or unknown
 * screen is redrawn first (when readline is there to redraw it) or refused; typed input that was
 * never echoed is refused; then the command is read after the prompt, joined to the lines it
 * continues, and judged. Incomplete commands (open quote, trailing backslash, open compound,
 * here-document) are released as continuations: bash runs nothing until the command is complete,
 * and the complete one is judged as a whole.
 */
import type { Decision } from '../policy/index.js';
import { cursorLine, type Rows } from './line.js';
import type { Prompts } from './prompt.js';

export type Action =
  /** Send the Enter. `command`: the allowed command and its decision (null: nothing was judged). */
  | { readonly kind: 'release'; readonly command: string | null; readonly decision: Decision | null; readonly continuation: string | null }
  | { readonly kind: 'deny'; readonly command: string; readonly decision: Decision }
  | { readonly kind: 'review'; readonly command: string; readonly decision: Decision }
  | { readonly kind: 'redraw' };

export interface LineContext {
  readonly rows: Rows;
  readonly prompts: Prompts;
  /** The prompt learned when this line began ('' at the left margin, null unknown). */
  readonly current: string | null;
  /** The logical command so far, when this line continues it. */
  readonly continuation: string | null;
  readonly secret: boolean;
  /** Output that is not an echo arrived while the line was typed. */
  readonly dirty: boolean;
  /** False when the screen was lost to heavy output. */
  readonly known: boolean;
  /** Typed edits were never echoed. */
  readonly unechoedEdit: boolean;
  /** readline is reading the line (bracketed paste on) and redraws are left. */
  readonly canRedraw: boolean;
  /**
   * A program without line editing reads the line (readline is not reading, and with shell
   * integration the shell is not at its prompt): `y`, `n`, `yes`, `no`, `q` answer its question.
   */
  readonly programInput: boolean;
  judge(line: string): Decision;
}

const ANSWER = /^(?:y|n|yes|no|q)$/i;
const INCOMPLETE = /^cannot parse: .*(?:reached EOF|must be followed by|unclosed here-document|must end with)/;
/** A redirection with no word after it is a syntax error to bash at the newline, not a continuation. */
const REDIRECT_WITHOUT_WORD = /^cannot parse: \d+:\d+: [0-9&]*[<>][<>&|]* must be followed by a word/;

export function refusal(command: string, why: string): Action {
  return { kind: 'deny', command, decision: { decision: 'deny', reasons: [{ command, rule: null, why: `inspection: ${why}` }] } };
}

export function decideLine(c: LineContext): Action {
  if (c.secret) {
    const line = cursorLine(c.rows);
    const prompt = (c.current ?? '').trimEnd();
    if (line.ok && line.text.startsWith(prompt) && line.text.slice(prompt.length).trim() === '') {
      return { kind: 'release', command: null, decision: null, continuation: c.continuation };
    }
    // Echoed after all: not a secret; judge what the screen shows.
  }
  if (c.dirty || !c.known) {
    if (c.canRedraw) return { kind: 'redraw' };
    return refusal(shown(c), c.known ? 'output arrived while the line was typed and it could not be redrawn; the line cannot be read' : 'the screen was lost to heavy output and the line could not be redrawn');
  }
  if (c.unechoedEdit) return refusal(shown(c), 'the target did not echo the typed input (terminal echo off?); the line cannot be read');
  const line = cursorLine(c.rows);
  if (!line.ok) return refusal('', line.why);
  const got = c.prompts.extract(line.text, c.current);
  if (!got.ok) return c.canRedraw ? { kind: 'redraw' } : refusal(line.text.trim(), got.why);
  const cmd = got.command;
  if (cmd === '' && c.continuation === null) return { kind: 'release', command: null, decision: null, continuation: null };
  // A confirmation answered (apt, ssh host keys, read -p "[y/N]"). Even if a shell without line
  // editing read it, none of these words runs anything that can change the target.
  if (c.programInput && c.continuation === null && ANSWER.test(cmd)) return { kind: 'release', command: null, decision: null, continuation: null };
  const logical = c.continuation === null ? cmd : `${c.continuation}\n${cmd}`;
  if (endsInBackslash(logical)) {
    // bash continues the line. The policy parser would read the backslash as literal, so judge
    // the line as it would run if the backslash did not continue it (it may sit in a comment).
    if (line.trailingSpace) return refusal(logical, 'the line ends in a backslash followed by spaces: cannot tell whether it continues');
    const head = c.judge(logical.slice(0, -1));
    if (head.decision !== 'allow') return { kind: 'deny', command: logical, decision: { decision: 'deny', reasons: head.decision === 'deny' ? head.reasons : head.reasons.map((r) => ({ ...r, why: `${r.why}; a command that needs review cannot be continued with a backslash` })) } };
    return { kind: 'release', command: null, decision: null, continuation: logical };
  }
  const d = c.judge(logical);
  const why = d.reasons[0]?.why ?? '';
  if (d.decision === 'deny' && d.reasons.length === 1 && INCOMPLETE.test(why) && !REDIRECT_WITHOUT_WORD.test(why)) {
    return { kind: 'release', command: null, decision: null, continuation: logical };
  }
  if (d.decision === 'allow') return { kind: 'release', command: logical, decision: d, continuation: null };
  if (d.decision === 'review') return { kind: 'review', command: logical, decision: d };
  return { kind: 'deny', command: logical, decision: d };
}

function endsInBackslash(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/** What the screen shows as the command, for the record when the line cannot be judged. */
export function shown(c: Pick<LineContext, 'rows' | 'prompts' | 'current'>): string {
  const line = cursorLine(c.rows);
  if (!line.ok) return '';
  const got = c.prompts.extract(line.text, c.current);
  return got.ok ? got.command : line.text.trim();
}
