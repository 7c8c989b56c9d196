/**
 * A screen for unit tests: rows of text with wrap flags and a cursor, enough for the line reader
 * and the inspector (screen.ts runs the same reads on xterm).
 */
import type { ScreenPort } from '../../../src/inspect/inspector.js';

export class FakeScreen implements ScreenPort {
  lines: string[];
  wraps: boolean[];
  cursorX = 0;
  cursorY = 0;
  /** Written trailing spaces per row (readline's `\b \b` erasures). */
  trailing: boolean[];
  caughtUp = true;
  flood = false;
  altActive = false;
  bracketedPaste = true;
  known = true;

  constructor(
    readonly cols = 40,
    readonly rows = 10,
  ) {
    this.lines = Array.from({ length: rows }, () => '');
    this.wraps = Array.from({ length: rows }, () => false);
    this.trailing = Array.from({ length: rows }, () => false);
  }

  /** Puts text at the cursor (wrapping at `cols`) and moves the cursor after it. */
  type(text: string): void {
    for (const ch of text) {
      if (this.cursorX >= this.cols) {
        this.newRow(true);
      }
      const row = this.lines[this.cursorY] ?? '';
      this.lines[this.cursorY] = row.slice(0, this.cursorX).padEnd(this.cursorX, ' ') + ch + row.slice(this.cursorX + 1);
      this.cursorX++;
    }
  }

  /** A line break (CR LF), scrolling at the bottom. */
  newRow(wrapped = false): void {
    this.cursorX = 0;
    if (this.cursorY === this.rows - 1) {
      this.lines.shift();
      this.wraps.shift();
      this.trailing.shift();
      this.lines.push('');
      this.wraps.push(wrapped);
      this.trailing.push(false);
    } else {
      this.cursorY++;
      this.lines[this.cursorY] = '';
      this.wraps[this.cursorY] = wrapped;
    }
  }

  /** Replaces the cursor row from column 0. */
  setRow(text: string): void {
    this.lines[this.cursorY] = text;
    this.cursorX = text.length;
  }

  whenCaughtUp(fn: () => void): void {
    fn();
  }

  text(y: number, trim: boolean, end?: number): string {
    const row = (this.lines[y] ?? '').padEnd(this.cols, ' ').slice(0, end ?? this.cols);
    return trim ? row.trimEnd() : row;
  }

  wrapped(y: number): boolean {
    return this.wraps[y] ?? false;
  }

  writtenSpaceAfterText(y: number): boolean {
    return this.trailing[y] ?? false;
  }
}
