/**
 * UTF-8 at chunk boundaries: output arrives in chunks that may end inside a character. Pure byte
 * arithmetic shared by the recording writer (which keeps an incomplete tail for the next chunk)
 * and the SSM simulator's agent (which never sends half a character in a frame).
 */

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
