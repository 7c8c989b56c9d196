/**
 * Reading the line the cursor is on from an emulated screen: the logical line (the cursor's row
 * with the rows it wraps from and into), its text, and the text before the cursor (which, when
 * the responder starts typing, is the prompt). Pure, over the small `Rows` view that screen.ts
 * implements on xterm and the unit tests implement on arrays.
 *
 * Fail closed: a logical line whose first row scrolled off the top cannot be read ("longer than
 * the screen"), and the caller denies.
 */

/** The part of a screen the line reader needs. Rows are viewport rows, 0 at the top. */
export interface Rows {
  readonly cols: number;
  readonly rows: number;
  readonly cursorX: number;
  readonly cursorY: number;
  /** Row `y` as text, cells [0, end); trailing blanks removed when `trim`. */
  text(y: number, trim: boolean, end?: number): string;
  /** Row `y` continues row `y - 1` (the terminal wrapped it). */
  wrapped(y: number): boolean;
  /**
   * Whether the cell after the last non-blank cell of row `y` holds a space that was written
   * (readline erases with `\b \b`, so a written space may or may not be part of the line), as
   * opposed to a cell never written or erased (never part of the line).
   */
  writtenSpaceAfterText(y: number): boolean;
}

export type LogicalLine =
  | {
      readonly ok: true;
      /** The whole logical line, trailing blanks (written or not) removed. */
      readonly text: string;
      /** From the start of the logical line to the cursor, blanks kept. */
      readonly before: string;
      /** A written space follows the text: trailing spaces may or may not be part of the line. */
      readonly trailingSpace: boolean;
      readonly top: number;
    }
  | { readonly ok: false; readonly why: string };

export function cursorLine(r: Rows): LogicalLine {
  const cy = Math.min(Math.max(r.cursorY, 0), r.rows - 1);
  let top = cy;
  while (top > 0 && r.wrapped(top)) top--;
  if (r.wrapped(top)) return { ok: false, why: 'the command line is longer than the screen can show' };
  let bottom = cy;
  while (bottom + 1 < r.rows && r.wrapped(bottom + 1)) bottom++;
  let text = '';
  let before = '';
  for (let y = top; y <= bottom; y++) {
    // Rows wrapped into the next keep their trailing blanks: a space at a wrap point is real.
    text += r.text(y, y === bottom);
    if (y < cy) before += r.text(y, false);
    else if (y === cy) before += r.text(y, false, Math.min(r.cursorX, r.cols));
  }
  // Written blanks at the end (readline erases with `\b \b`) are not trimmed by the emulator.
  return { ok: true, text: text.trimEnd(), before, trailingSpace: r.writtenSpaceAfterText(bottom), top };
}
