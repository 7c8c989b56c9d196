/**
 * Text with the time it arrived, as the streaming redactor (redact.ts) takes and releases it, and
 * the pure steps on such pieces: masking decided text back into the pieces it came from, and
 * joining neighbours. Apart from redact.ts so its state machine reads without the bookkeeping.
 */

export interface TimedText {
  readonly time: number;
  readonly text: string;
}

const MASK = '*';

/** Appends `work[0, upTo)` to `out`, masked, split back into the pieces it came from. */
export function emit(pieces: readonly TimedText[], work: string, mask: Uint8Array, upTo: number, out: TimedText[]): void {
  let pos = 0;
  for (const p of pieces) {
    if (pos >= upTo) break;
    const end = Math.min(pos + p.text.length, upTo);
    let text = work.slice(pos, end);
    if (mask.subarray(pos, end).includes(1)) {
      let s = '';
      for (let j = pos; j < end; j++) s += mask[j] === 1 ? MASK : work[j];
      text = s;
    }
    out.push({ time: p.time, text });
    pos += p.text.length;
  }
}

/** Joins neighbouring pieces with the same time. */
export function coalesce(out: TimedText[]): TimedText[] {
  if (out.length < 2) return out;
  const res: TimedText[] = [];
  for (const p of out) {
    if (p.text.length === 0) continue;
    const last = res[res.length - 1];
    if (last !== undefined && last.time === p.time) res[res.length - 1] = { time: p.time, text: last.text + p.text };
    else res.push(p);
  }
  return res;
}
