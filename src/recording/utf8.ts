/**
 * UTF-8 constants for the writer (writer.ts): asciicast can hold only text, so output that is not
 * UTF-8 is marked. The chunk-boundary arithmetic is domain/utf8.ts.
 */

/** U+FFFD, encoded: output that decodes to U+FFFD without holding these bytes was not UTF-8. */
export const REPLACEMENT_UTF8 = Buffer.from('\uFFFD', 'utf8');
export const EMPTY = Buffer.alloc(0);
