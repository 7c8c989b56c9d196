/**
 * Bracketed pastes (ESC[200~ ... ESC[201~), collected whole, possibly across chunks. A paste
 * without a line break goes to the target as it came (readline inserts it; Enter is judged later).
 * A paste of several lines becomes one paste per line, each followed by Enter, so each line is
 * held and judged in order, and the first denied one stops the rest (fail closed; the alternative,
 * bash 5.1's "insert everything, run on Enter", would put several commands behind one Enter).
 * Pastes with control characters or over MAX_PASTE bytes are dropped whole.
 */
import { CR, PASTE_END, PASTE_START, pasteLines } from './keys.js';

export const MAX_PASTE = 64 * 1024;

export type Pasted =
  /** Still collecting (the end marker is in a later chunk). */
  | { readonly kind: 'more' }
  /** Forward these bytes as typed input. */
  | { readonly kind: 'forward'; readonly bytes: Buffer }
  /** Process these bytes as input (lines with Enters) before the rest of the chunk. */
  | { readonly kind: 'lines'; readonly bytes: Buffer }
  /** Refused; tell the responder why. */
  | { readonly kind: 'dropped'; readonly why: string };

export class PasteCollector {
  private parts: Buffer[] | null = null;
  private size = 0;
  private skipping = false;
  private tooBig = false;
  private refusal: string | null = null;

  get active(): boolean {
    return this.parts !== null || this.skipping;
  }

  /** A paste starts (after its ESC[200~); `refusal`: it is to be dropped whole, for this reason. */
  start(refusal: string | null = null): void {
    this.parts = refusal === null ? [] : null;
    this.size = 0;
    this.skipping = refusal !== null;
    this.tooBig = false;
    this.refusal = refusal;
  }

  reset(): void {
    this.parts = null;
    this.skipping = false;
  }

  /**
   * Takes `chunk[start..]`; returns what to do and where the chunk goes on after the paste.
   * `bracket`: the target is in bracketed-paste mode (each line is sent bracketed, so readline
   * takes tabs and the like literally).
   */
  take(chunk: Buffer, start: number, bracket: boolean): { readonly next: number; readonly result: Pasted } {
    const end = chunk.indexOf(PASTE_END, start);
    const stop = end < 0 ? chunk.length : end;
    if (this.parts !== null) {
      this.parts.push(chunk.subarray(start, stop));
      this.size += stop - start;
      if (this.size > MAX_PASTE) {
        this.parts = null;
        this.skipping = true;
        this.tooBig = true;
      }
    }
    if (end < 0) return { next: chunk.length, result: { kind: 'more' } };
    const next = end + PASTE_END.length;
    const parts = this.parts;
    this.reset();
    if (parts === null) return { next, result: { kind: 'dropped', why: this.refusal ?? (this.tooBig ? `a paste longer than ${MAX_PASTE / 1024} KiB was dropped` : 'the paste was dropped') } };
    const bytes = Buffer.concat(parts);
    const lines = pasteLines(bytes.toString('utf8'));
    if (lines === null) return { next, result: { kind: 'dropped', why: 'pasted text with control characters was dropped' } };
    if (lines.length === 1) return { next, result: { kind: 'forward', bytes: Buffer.concat([PASTE_START, bytes, PASTE_END]) } };
    const out: Buffer[] = [];
    lines.forEach((line, n) => {
      if (line !== '') out.push(...(bracket ? [PASTE_START, Buffer.from(line), PASTE_END] : [Buffer.from(line)]));
      if (n < lines.length - 1) out.push(Buffer.from([CR]));
    });
    return { next, result: { kind: 'lines', bytes: Buffer.concat(out) } };
  }
}
