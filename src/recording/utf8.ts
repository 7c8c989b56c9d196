/**
 * UTF-8 at chunk boundaries, for the writer (writer.ts): output arrives in chunks that may end
 * inside a character, and asciicast can hold only text. Pure helpers, apart from the writer's
 * state, so the byte arithmetic can be read (and checked) on its own.
 */

/** U+FFFD, encoded: output that decodes to U+FFFD without holding these bytes was not UTF-8. */
export const REPLACEMENT_UTF8 = Buffer.from('\uFFFD', 'utf8');
export const EMPTY = Buffer.alloc(0);

/** How many trailing bytes of `buf` start a UTF-8 character that is not complete yet (0-3). */
export function incompleteTail(buf: Buffer): number {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const b = buf[buf.length - i] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > i ? i : 0;
  }
  return 0;
}
