/**
 * The text of a screen sample (flood.ts), on the recording thread: the last bytes of a flood,
 * decoded and redacted on their own. The sample starts at a line start (not inside a character or
 * an escape sequence). A private key whose BEGIN line fell before the sample would not be
 * recognised by the redactor, so anything up to an END line without its BEGIN is dropped.
 */
import { redactText } from './redact.js';

const ORPHAN_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;
const BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

export function sampleText(raw: Buffer, redact: boolean): string {
  const nl = raw.indexOf(0x0a);
  let text = (nl >= 0 && nl < raw.length - 1 ? raw.subarray(nl + 1) : raw).toString('utf8');
  if (!redact) return text;
  const end = ORPHAN_END.exec(text);
  if (end !== null) {
    const begin = BEGIN.exec(text);
    if (begin === null || begin.index > end.index) text = text.slice(end.index + end[0].length);
  }
  return redactText(text);
}
