/**
 * Reading recordings where the broker answers requests (web UI, gRPC): the broker's event loop
 * also relays every keystroke and runs the expiry timers, so a recording — tens of MB — is never
 * read, gunzipped or parsed in one go there. The file is streamed, gunzipped in zlib's thread
 * pool, and looked at one chunk at a time:
 *
 *   - a recording closed cleanly is sent as it lies (the web UI even sends the `.gz` as is);
 *   - one that may end in a torn line (live, interrupted, or closed after a write error) goes
 *     through `dropTornEnd`, which holds back only the text after the last newline;
 *   - the replay page's outline (size, duration, markers) comes from `outlineCast`, which parses
 *     only the header, the marker lines and the last line.
 *
 * Unlike reader.ts `parseCast` (the terminal replay, which parses everything on the client),
 * this checks each event line's shape only up to its code: the hash in the index is what proves a
 * closed recording whole (`gatehouse audit verify`).
 */
import { open } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Cast } from './reader.js';

export interface CastFile {
  /** The file is gzip (by content, whatever its name). */
  readonly gzip: boolean;
  /** Its size on disk when opened. */
  readonly size: number;
  /**
   * The bytes as they lie, read from the descriptor opened here: compression at close may replace
   * the file meanwhile, this one stays readable. Consume it or destroy it.
   */
  readonly raw: Readable;
}

export async function openCastFile(path: string): Promise<CastFile> {
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    const { size } = await fh.stat();
    return { gzip: bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b, size, raw: fh.createReadStream({ start: 0 }) };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Closed and hashed at close: the writer finished every line. Any other recording may end in a torn one. */
export const closedWhole = (row: { readonly state: string; readonly sha256: string | null }): boolean => row.state === 'closed' && row.sha256 !== null;

const noop = (): void => {};

/** The recording's asciicast text, gunzipped off the event loop when it is gzip; with `dropTorn`, through `dropTornEnd`. */
export function castText(f: CastFile, dropTorn = false): Readable {
  const text = f.gzip ? pipeline(f.raw, createGunzip(), noop) : f.raw;
  return dropTorn ? pipeline(text, dropTornEnd(), noop) : text;
}

/** `text` with its first line, the header, replaced by `edit(header)`; the rest passes as it comes. */
export async function* withHeader(text: AsyncIterable<Buffer>, edit: (header: Cast['header']) => Record<string, unknown>): AsyncGenerator<Buffer> {
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  for await (const chunk of text) {
    const buf = chunk as Buffer;
    if (done) {
      yield buf;
      continue;
    }
    const nl = buf.indexOf(0x0a);
    if (nl < 0) {
      head.push(buf);
      if ((size += buf.length) > MAX_HEADER) throw new Error('recording header too long');
      continue;
    }
    done = true;
    yield Buffer.concat([Buffer.from(JSON.stringify(edit(parseHeader(Buffer.concat([...head, buf.subarray(0, nl)]))))), buf.subarray(nl)]);
  }
  if (!done) yield Buffer.from(`${JSON.stringify(edit(parseHeader(Buffer.concat(head))))}\n`);
}

const MAX_HEADER = 64 * 1024;

/** Passes whole lines through; at the end, the text after the last newline only if it is a complete line. */
export function dropTornEnd(): Transform {
  let tail: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const nl = chunk.lastIndexOf(0x0a);
      if (nl < 0) {
        tail.push(chunk);
        return done();
      }
      const out = tail.length === 0 ? chunk.subarray(0, nl + 1) : Buffer.concat([...tail, chunk.subarray(0, nl + 1)]);
      tail = nl + 1 < chunk.length ? [chunk.subarray(nl + 1)] : [];
      done(null, out);
    },
    flush(done) {
      const last = Buffer.concat(tail).toString('utf8');
      done(null, last !== '' && completeLine(last) ? `${last}\n` : undefined);
    },
  });
}

const completeLine = (line: string): boolean => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

/** Calls `line` with each complete line (without its newline); `end()` returns what follows the last one. */
export class LineSplitter {
  private carry: Buffer[] = [];

  constructor(private readonly line: (text: Buffer) => void) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      if (this.carry.length === 0) this.line(piece);
      else {
        this.line(Buffer.concat([...this.carry, piece]));
        this.carry = [];
      }
      from = nl + 1;
    }
    if (from < chunk.length) this.carry.push(chunk.subarray(from));
  }

  end(): Buffer {
    const rest = Buffer.concat(this.carry);
    this.carry = [];
    return rest;
  }
}

export interface CastOutline {
  readonly header: Cast['header'];
  /** Every `m` event, in order. */
  readonly markers: readonly { readonly time: number; readonly label: string }[];
  /** The time of the last event, in seconds. */
  readonly duration: number;
  /** The last line was incomplete and was dropped. */
  readonly torn: boolean;
}

/** `[time, "code",` at the start of an event line (the writer's `[1.5, "o", ...]`, or compact JSON). */
const EVENT_START = /^\[\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*,\s*"([oirm])"\s*,/;

/**
 * What the replay page needs from a recording: its header, markers, duration and whether its end is
 * torn, read from `text` chunk by chunk. Throws on a malformed header, or on a line that is not an
 * event anywhere but at a torn end.
 */
export async function outlineCast(text: AsyncIterable<Buffer>): Promise<CastOutline> {
  let header: Cast['header'] | undefined;
  const markers: { time: number; label: string }[] = [];
  let duration = 0;
  let n = 0;
  const event = (line: Buffer, last: boolean): boolean => {
    const m = EVENT_START.exec(line.toString('latin1', 0, Math.min(line.length, 64)));
    if (m === null || line[line.length - 1] !== 0x5d) {
      if (last) return false;
      throw new Error(`recording line ${n} is not an asciicast event`);
    }
    if (m[2] === 'm' || last) {
      let ev: unknown;
      try {
        ev = JSON.parse(line.toString('utf8'));
      } catch (err) {
        if (last) return false;
        throw new Error(`recording line ${n} is not valid JSON`, { cause: err });
      }
      if (!Array.isArray(ev) || typeof ev[2] !== 'string') throw new Error(`recording line ${n} is not an asciicast event`);
      if (m[2] === 'm') markers.push({ time: ev[0] as number, label: ev[2] });
    }
    duration = Number(m[1]);
    return true;
  };
  const lines = new LineSplitter((line) => {
    n++;
    if (header === undefined) header = parseHeader(line);
    else if (line.length > 0) event(line, false);
  });
  for await (const chunk of text) lines.push(chunk as Buffer);
  const rest = lines.end();
  n++;
  let torn = false;
  if (header === undefined) header = parseHeader(rest);
  else if (rest.length > 0) torn = !event(rest, true);
  return { header, markers, duration, torn };
}

function parseHeader(line: Buffer): Cast['header'] {
  if (line.length === 0) throw new Error('empty recording');
  const header = JSON.parse(line.toString('utf8')) as Cast['header'];
  if (header.version !== 2) throw new Error(`unsupported asciicast version ${String(header.version)}`);
  return header;
}
