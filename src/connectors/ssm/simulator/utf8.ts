/**
 * Where a run of output bytes may be cut without splitting a UTF-8 character: the agent never
 * sends half a character in a frame. agent.ts re-exports it.
 */
import { incompleteTail } from '../../../domain/utf8.js';

/** Length of the prefix of `buf` that ends on a UTF-8 character boundary. */
export function completeUtf8Length(buf: Buffer): number {
  return buf.length - incompleteTail(buf);
}
