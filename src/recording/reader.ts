/**
 * asciicast v2 reader. Tolerant of a torn last line (a broker killed mid-write) and of gzip
 * (`.cast.gz`); strict about everything else: a malformed line in the middle is an error, because
 * a recording that was edited must not replay as if it were whole.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export type CastEventCode = 'o' | 'i' | 'r' | 'm';
export type CastEvent = readonly [time: number, code: CastEventCode, data: string];

export interface Cast {
  readonly header: Readonly<Record<string, unknown>> & { readonly version: 2; readonly width: number; readonly height: number };
  readonly events: readonly CastEvent[];
  /** The last line was incomplete and was dropped. */
  readonly torn: boolean;
}

export function parseCast(text: string): Cast {
  const lines = text.split('\n');
  const endsClean = text.endsWith('\n');
  if (endsClean) lines.pop();
  const first = lines.shift();
  if (first === undefined) throw new Error('empty recording');
  const header = JSON.parse(first) as Cast['header'];
  if (header.version !== 2) throw new Error(`unsupported asciicast version ${String(header.version)}`);
  const events: CastEvent[] = [];
  let torn = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.length === 0) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch (err) {
      if (i === lines.length - 1 && !endsClean) {
        torn = true;
        break;
      }
      throw new Error(`recording line ${i + 2} is not valid JSON`, { cause: err });
    }
    if (!Array.isArray(ev) || typeof ev[0] !== 'number' || !['o', 'i', 'r', 'm'].includes(ev[1] as string) || typeof ev[2] !== 'string') {
      throw new Error(`recording line ${i + 2} is not an asciicast event`);
    }
    events.push(ev as unknown as CastEvent);
  }
  return { header, events, torn };
}

export async function readCast(path: string): Promise<Cast> {
  const raw = await readFile(path);
  const text = path.endsWith('.gz') || (raw[0] === 0x1f && raw[1] === 0x8b) ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return parseCast(text);
}
