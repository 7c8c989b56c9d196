/**
 * Streaming secret redaction for what is recorded and what watchers see (never for what the
 * responder sees). The rule set (docs/recordings.md "Redaction"):
 *
 *   aws-access-key   AKIA / ASIA + 16 upper-case letters or digits, as a whole word: the 16 are masked
 *   private-key      the body of a -----BEGIN ... PRIVATE KEY----- block, up to its END line (or 16 KiB)
 *   key-value        a name containing password, passwd, passphrase, secret, token or api_key / api-key /
 *                    apikey, then `=` or `:`, then the value: the value is masked
 *   bearer           `Bearer <token>`: the token is masked
 *
 * How it stays safe for the terminal and for timing:
 *
 *   - Redaction looks only at printable text. Escape sequences (CSI, OSC, DCS, ... also 8-bit C1)
 *     and control characters pass through untouched and end the current "run" of text, so a mask
 *     never lands inside an escape sequence and never swallows a newline.
 *   - A masked character becomes `*`, one for one: only printable ASCII is ever masked, so the
 *     screen layout (and every byte count) is unchanged. The cost: the length of a secret shows.
 *   - Most decisions need no hold-back: a value is masked as it arrives, because the name before it
 *     (`password=`) is already known. Only two rules wait for more text, and only briefly: an AWS key
 *     id (up to 16 characters, until its end is seen) and a candidate END line inside a key block
 *     (up to 80 characters). Held text is released with the time it arrived, so timing is kept.
 *   - A value split across chunks, or typed one character at a time, is still caught: the run's
 *     recent text (128 characters) is kept as context across pushes.
 *
 * Limits, stated plainly: this is pattern matching over a byte stream. A secret broken by an
 * escape sequence or a control character (a colour change mid-token, a backspace while typing),
 * one inside an escape sequence (a window title), or one in a form no rule describes is not
 * caught. It is a safety net for recordings and the live view, not a data-loss-prevention system.
 */

import { Esc, EscapeTracker } from './escape-tracker.js';
import { AWS, BEARER, BEGIN, C1, DELIMITER, earliest, END, endLinePrefix, isAlnum, isAwsChar, isBearerValue, isDelimiter, isKeyBody, isKvValue, KV, MAX_END_LINE, TRIGGER, type ValueKind } from './redact-rules.js';
import { coalesce, emit, type TimedText } from './timed-text.js';

export type { TimedText } from './timed-text.js';

/** How much of the current run's text is kept as context for names before values. */
const CONTEXT = 128;
/** Longest value masked by one key-value or bearer match (bounded work per value). */
const MAX_VALUE = 8192;
/** A key block without an END line stops masking after this many body characters. */
const MAX_KEY_BODY = 16 * 1024;

export class StreamRedactor extends EscapeTracker {
  /** Decided text of the current run (original, unmasked), last CONTEXT characters. */
  private ctx = '';
  /** Undecided text at the end of the current run, with the times its pieces arrived. */
  private held: TimedText[] = [];
  private heldLength = 0;
  private cont: { kind: ValueKind; n: number } | null = null;
  private keyBody = -1;

  /** `careful`: never take the fast path (tests check both paths agree). */
  constructor(private readonly opts: { readonly careful?: boolean } = {}) {
    super();
  }

  /** A copy with the same state (the live view continues from the recording's state). */
  clone(): StreamRedactor {
    const r = new StreamRedactor(this.opts);
    r.esc = this.esc;
    r.ctx = this.ctx;
    r.held = [...this.held];
    r.heldLength = this.heldLength;
    r.cont = this.cont && { ...this.cont };
    r.keyBody = this.keyBody;
    r.strLen = this.strLen;
    return r;
  }

  /** Text held back for a decision (at most ~80 characters). */
  get pending(): number {
    return this.heldLength;
  }

  /**
   * Redacts the next piece of the stream. Returns what can be released now, in order: earlier held
   * text with the time it arrived, then this text with `time`.
   */
  push(text: string, time: number): TimedText[] {
    if (this.opts.careful !== true && this.esc === Esc.Ground && this.heldLength === 0 && this.cont === null && this.keyBody < 0 && !C1.test(text) && !this.mayTrigger(text)) {
      this.skim(text);
      return [{ time, text }];
    }
    const out: TimedText[] = [];
    let i = 0;
    const n = text.length;
    while (i < n) {
      if (this.esc !== Esc.Ground) {
        const start = i;
        do this.escape(text.charCodeAt(i++));
        while (i < n && this.inEscape());
        out.push({ time, text: text.slice(start, i) });
        continue;
      }
      DELIMITER.lastIndex = i;
      const d = DELIMITER.exec(text);
      const end = d === null ? n : d.index;
      if (end > i) this.run(text.slice(i, end), time, out);
      if (d === null) break;
      // The run ends here: decide what was held, then pass the control or escape through.
      this.endRun(out);
      const c = text.charCodeAt(end);
      this.escape(c);
      i = end + 1;
      out.push({ time, text: text[end] as string });
    }
    return coalesce(out);
  }

  /** End of stream: decides and releases everything held. */
  flush(): TimedText[] {
    const out: TimedText[] = [];
    this.endRun(out);
    return out;
  }

  /**
   * The common case at close to memcpy speed: no rule can start in `text`, so it passes unchanged;
   * only the state moves on. Every escape sequence restarts at an ESC whatever the state before,
   * so the state at the end is that of the last ESC's sequence; the context is the text after the
   * last control character or escape sequence.
   */
  private skim(text: string): void {
    const p = text.lastIndexOf('\x1b');
    let after = 0;
    if (p >= 0) {
      this.esc = Esc.Ground;
      after = text.length;
      for (let i = p; i < text.length; i++) {
        this.escape(text.charCodeAt(i));
        if (this.esc === Esc.Ground && after === text.length) after = i + 1;
      }
      if (this.inEscape()) {
        this.ctx = '';
        this.strLen = text.length - p;
        return;
      }
    }
    let k = text.length - 1;
    while (k >= after && !isDelimiter(text.charCodeAt(k))) k--;
    const from = Math.max(k + 1, after);
    if (from > 0) this.ctx = text.slice(Math.max(from, text.length - CONTEXT));
    else this.ctx = this.ctx.length + text.length <= CONTEXT ? this.ctx + text : (this.ctx + text).slice(-CONTEXT);
  }

  /** Could a rule start in `text` or across the boundary with the run's context? */
  private mayTrigger(text: string): boolean {
    return TRIGGER.test(text) || (this.ctx.length > 0 && TRIGGER.test(this.ctx + text.slice(0, 16)));
  }

  /** Printable text continuing the current run. */
  private run(seg: string, time: number, out: TimedText[]): void {
    if (this.heldLength === 0 && this.cont === null && this.keyBody < 0 && !this.mayTrigger(seg)) {
      out.push({ time, text: seg });
      this.remember(seg);
      return;
    }
    const pieces = this.heldLength > 0 ? [...this.held, { time, text: seg }] : [{ time, text: seg }];
    const work = this.heldLength > 0 ? this.held.map((p) => p.text).join('') + seg : seg;
    this.held = [];
    this.heldLength = 0;
    const mask = new Uint8Array(work.length);
    const hold = this.decide(work, mask, false);
    emit(pieces, work, mask, hold, out);
    this.remember(work.slice(0, hold));
    if (hold < work.length) this.hold(pieces, work.length - hold);
  }

  /** A delimiter (or the end of the stream) ends the run: everything held is decided now. */
  private endRun(out: TimedText[]): void {
    if (this.heldLength > 0) {
      const pieces = this.held;
      const work = pieces.map((p) => p.text).join('');
      this.held = [];
      this.heldLength = 0;
      const mask = new Uint8Array(work.length);
      this.decide(work, mask, true);
      emit(pieces, work, mask, work.length, out);
    }
    this.ctx = '';
    this.cont = null;
  }

  /**
   * Marks what to mask in `work` (which follows `this.ctx` in the run) and returns how much of it
   * is decided; the rest must be held. `final`: the run ends after `work`.
   */
  private decide(work: string, mask: Uint8Array, final: boolean): number {
    const base = this.ctx.length;
    const r = this.ctx + work;
    let i = 0;
    while (i < work.length) {
      if (this.keyBody >= 0) {
        END.lastIndex = base + i;
        const m = END.exec(r);
        const stop = m === null ? work.length : m.index - base;
        let hold = -1;
        if (m === null && !final) {
          // A '-' near the end may begin the END line: hold from there.
          for (let j = Math.max(i, work.length - MAX_END_LINE); j < work.length; j++) {
            if (work.charCodeAt(j) === 0x2d && endLinePrefix(work.slice(j))) {
              hold = j;
              break;
            }
          }
        }
        const bodyEnd = hold >= 0 ? hold : stop;
        for (let j = i; j < bodyEnd; j++) if (isKeyBody(work.charCodeAt(j))) mask[j] = 1;
        this.keyBody += bodyEnd - i;
        if (m !== null) {
          this.keyBody = -1;
          i = m.index - base + m[0].length;
          continue;
        }
        if (this.keyBody > MAX_KEY_BODY) this.keyBody = -1;
        return hold >= 0 ? hold : work.length;
      }
      if (this.cont !== null) {
        const ok = this.cont.kind === 'kv' ? isKvValue : isBearerValue;
        let j = i;
        while (j < work.length && this.cont.n < MAX_VALUE && ok(work.charCodeAt(j))) {
          mask[j++] = 1;
          this.cont.n++;
        }
        if (j === work.length && this.cont.n < MAX_VALUE) return work.length;
        this.cont = null;
        i = j;
        continue;
      }
      const hit = earliest(r, Math.max(0, base + i - CONTEXT), base + i);
      if (hit === null) return work.length;
      const at = hit.end - base;
      if (hit.rule === 'begin') {
        this.keyBody = 0;
        i = at;
        continue;
      }
      if (hit.rule === 'aws') {
        let j = at;
        while (j < work.length && j - at <= 16 && isAwsChar(work.charCodeAt(j))) j++;
        const len = j - at;
        // Undecided until the character after the 16th is seen: hold it, with its AKIA/ASIA (so
        // the trigger is found again, after the decided text, when the hold is looked at next).
        if (j === work.length && len <= 16 && !final) return Math.max(i, at - 4);
        if (len === 16 && (j === work.length || !isAlnum(work.charCodeAt(j)))) {
          mask.fill(1, at, j);
          i = j;
        } else i = at;
        continue;
      }
      this.cont = { kind: hit.rule, n: 0 };
      i = Math.max(i, at);
    }
    return work.length;
  }

  private remember(decided: string): void {
    this.ctx = (this.ctx.length + decided.length <= CONTEXT ? this.ctx + decided : (this.ctx + decided).slice(-CONTEXT));
  }

  private hold(pieces: readonly TimedText[], length: number): void {
    // Keep the last `length` characters of the pieces, each with its own time.
    const kept: TimedText[] = [];
    let need = length;
    for (let k = pieces.length - 1; k >= 0 && need > 0; k--) {
      const p = pieces[k] as TimedText;
      if (p.text.length <= need) {
        kept.unshift(p);
        need -= p.text.length;
      } else {
        kept.unshift({ time: p.time, text: p.text.slice(p.text.length - need) });
        need = 0;
      }
    }
    this.held = kept;
    this.heldLength = length;
  }
}

/** Redacts a whole text at once (tests, tools). */
export function redactText(text: string): string {
  const r = new StreamRedactor();
  return [...r.push(text, 0), ...r.flush()].map((p) => p.text).join('');
}
