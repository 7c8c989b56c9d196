/**
 * Where the command starts on the screen, and the shell's own marks.
 *
 * Without shell integration the broker learns the prompt: when the responder starts a line, the
 * text before the cursor is the prompt (the shell printed it and then waited). At Enter the line
 * is the cursor's logical line; the command is what follows the prompt. Prompts seen before are
 * remembered (a few, most recent first), because the prompt can move: a completion listing, a
 * redraw, or type-ahead echoed before the prompt came back. When several fit, the SHORTEST wins:
 * a too-short prompt makes the judged text longer (a stray prefix makes the line fail to parse or
 * name an unknown program: denied), a too-long one would hide the start of the command.
 *
 * With shell integration (integration.ts) the shell prints OSC 133 marks: A (prompt starts), B
 * (command starts: the cursor is right after the prompt), C (the command runs), D;code (it
 * finished). Each carries the session's nonce; a mark without it (`cat` of a hostile file, a
 * program printing marks) is ignored and reported, so printed output cannot move the command
 * boundaries. A responder who reads the nonce out of $PS1 could still forge marks; the marks are
 * a convenience for exact boundaries and exit codes, never a reason to let a line through.
 */

/** Readline's incremental search prompt: the found line follows it. */
const ISEARCH = /^\((?:failed )?(?:reverse-|bck-|fwd-)?i-search\)`[^]*?': /;

/** Prompts worth remembering end like prompts do; anything else is kept only for its own line. */
const PROMPT_END = /[$#%>:\])~»❯›→➜λ] ?$/;
const MAX_KNOWN = 8;

/**
 * A password prompt (sudo, ssh, su, read -s, passwd, mysql...). Only together with other signs
 * (no readline on the line, echo really off) does the broker treat the line as a secret.
 */
const PASSWORD = /(?:password|passphrase|passcode|\bpin\b|one-time code|verification code|\botp\b)[^:\n]*:\s*$/i;

export function looksLikePasswordPrompt(before: string): boolean {
  return PASSWORD.test(before);
}

export type Extracted =
  | { readonly ok: true; readonly command: string; readonly prompt: string }
  | { readonly ok: false; readonly why: string };

export class Prompts {
  private readonly known: string[] = [];

  /** Remembers a prompt (non-empty, prompt-like) as the most recent. */
  remember(prompt: string): void {
    if (prompt.trim() === '' || !PROMPT_END.test(prompt)) return;
    const at = this.known.indexOf(prompt);
    if (at >= 0) this.known.splice(at, 1);
    this.known.unshift(prompt);
    if (this.known.length > MAX_KNOWN) this.known.pop();
  }

  /** True when the line holds a remembered prompt (maybe after other text) with something after it. */
  containsKnown(line: string): boolean {
    return this.known.some((p) => {
      const at = line.indexOf(p);
      return at >= 0 && line.length > at + p.length;
    });
  }

  /**
   * The command on a logical line. `current` is the prompt learned for this line (null when
   * unknown); `''` means the line began at the left margin with nothing before it (a program
   * reading a line, type-ahead), where the whole line is the command.
   */
  extract(line: string, current: string | null): Extracted {
    const search = ISEARCH.exec(line);
    if (search !== null) {
      const rest = line.slice(search[0].length);
      // The search text may itself contain "': ", which would shift the boundary: refuse to guess.
      if (rest.includes("': ")) return { ok: false, why: 'cannot tell the search text from the found line' };
      return { ok: true, command: rest.trim(), prompt: search[0] };
    }
    let best: string | null = null;
    for (const p of current === null || current === '' ? this.known : [current, ...this.known]) {
      // The line's trailing blanks are gone: an empty line is the prompt without its last space.
      const fits = line.startsWith(p) || line === p.trimEnd();
      if (p.trim() !== '' && fits && (best === null || p.length < best.length)) best = p;
    }
    if (best !== null) return { ok: true, command: line.slice(best.length).trim(), prompt: best };
    if (current === '') return { ok: true, command: line.trim(), prompt: '' };
    return { ok: false, why: 'cannot find where the command starts: no known prompt on the cursor line' };
  }
}

export type Mark =
  | { readonly kind: 'A' | 'B' | 'C' }
  | { readonly kind: 'D'; readonly exitCode: number | null };

/**
 * Parses the payload of an OSC 133 sequence (what follows `133;`). Our marks end with
 * `;gh=NONCE`. Returns the mark, 'forged' for a 133 mark without the right nonce, or null for
 * anything that is not a mark at all.
 */
export function parseMark(payload: string, nonce: string): Mark | 'forged' | null {
  const kind = payload[0];
  if (kind !== 'A' && kind !== 'B' && kind !== 'C' && kind !== 'D') return null;
  const suffix = `;gh=${nonce}`;
  if (nonce === '' || !payload.endsWith(suffix)) return 'forged';
  const body = payload.slice(0, payload.length - suffix.length);
  if (kind !== 'D') return body.length === 1 ? { kind } : 'forged';
  const m = /^D(?:;(\d{1,3}))?$/.exec(body);
  if (m === null) return 'forged';
  return { kind: 'D', exitCode: m[1] === undefined ? null : Number(m[1]) };
}
