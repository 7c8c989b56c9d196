/**
 * Input that arrived while a line is held (the rest of a paste, keys typed ahead), bounded: what
 * does not fit is dropped and the responder told once. Allocation happens only here, never on the
 * per-keystroke path (the inspector bypasses the queue while it is empty).
 */

/** Input kept while a command is held, at most. */
export const MAX_QUEUE = 256 * 1024;

export class InputQueue {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private told = false;

  get length(): number {
    return this.chunks.length;
  }

  /** Appends; false (and nothing kept) when it would exceed MAX_QUEUE. */
  push(chunk: Buffer): boolean {
    if (this.bytes + chunk.length > MAX_QUEUE) return false;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  /** True the first time input overflowed since the last clear (to tell the responder once). */
  overflowed(): boolean {
    if (this.told) return false;
    this.told = true;
    return true;
  }

  /** Puts input back at the front (the part of a chunk after a held Enter). */
  unshift(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.unshift(chunk);
    this.bytes += chunk.length;
  }

  shift(): Buffer | undefined {
    const chunk = this.chunks.shift();
    if (chunk !== undefined) this.bytes -= chunk.length;
    return chunk;
  }

  /** Drops everything; returns how many bytes were dropped. */
  clear(): number {
    const n = this.bytes;
    this.chunks = [];
    this.bytes = 0;
    this.told = false;
    return n;
  }
}
