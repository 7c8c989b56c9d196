/**
 * asciicast v2 reader. Tolerant of a torn last line (a broker killed mid-write) and of gzip
 * (`.cast.gz`); strict about everything else: a malformed line in the middle is an error, because
 * a recording that was edited must not replay as if it were whole.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { GatehouseError } from '../domain/errors.js';

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

const isGzip = (raw: Buffer): boolean => raw[0] === 0x1f && raw[1] === 0x8b;
const gunzipAsync = promisify(gunzip);

/**
 * The recording's text, gunzipped when it is gzip (whatever its name). The whole file in memory:
 * for tools and tests; the broker's request paths stream instead (cast-stream.ts).
 */
export async function readCastText(path: string): Promise<string> {
  const raw = await readFile(path);
  return (isGzip(raw) ? await gunzipAsync(raw) : raw).toString('utf8');
}

export async function readCast(path: string): Promise<Cast> {
  return parseCast(await readCastText(path));
}

/**
 * The first `bytes` bytes of a recording being written (never gzip), parsed; a torn end is dropped.
 * Beyond `whole` bytes only the header and the events in the last `tail` bytes are read (the live
 * view needs the recent screen, not the whole session).
 */
export async function readCastPrefix(path: string, bytes: number, whole = Infinity, tail = whole): Promise<Cast> {
  const fh = await open(path, 'r');
  const read = async (pos: number, len: number): Promise<Buffer> => {
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  };
  try {
    if (bytes <= whole) return parseCast((await read(0, bytes)).toString('utf8'));
    const head = await read(0, Math.min(bytes, 64 * 1024));
    const nl = head.indexOf(0x0a);
    if (nl < 0) throw new Error('recording header too long');
    const end = await read(bytes - tail, tail);
    const first = end.indexOf(0x0a);
    return parseCast(head.subarray(0, nl + 1).toString('utf8') + end.subarray(first + 1).toString('utf8'));
  } finally {
    await fh.close();
  }
}

/**
 * The file of a recording whose index path is `rel` (relative to `dir`): the path itself, or its
 * other form (`.cast` ↔ `.cast.gz`), since compression happens at close and a broker can stop
 * between the two. Refuses paths that leave `dir`. Throws GH_ERR_RECORDING_NOT_FOUND.
 */
export async function resolveRecording(dir: string, rel: string): Promise<string> {
  const clean = normalize(rel);
  if (rel === '' || isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) throw new GatehouseError('GH_ERR_RECORDING_NOT_FOUND', 'no recording file');
  const candidates = clean.endsWith('.gz') ? [clean, clean.slice(0, -3)] : [clean, `${clean}.gz`];
  for (const c of candidates) {
    const full = join(dir, c);
    const ok = await stat(full).then(
      (s) => s.isFile(),
      () => false,
    );
    if (ok) return full;
  }
  throw new GatehouseError('GH_ERR_RECORDING_NOT_FOUND', `the recording file ${rel} is missing`);
}
