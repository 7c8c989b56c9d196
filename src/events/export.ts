/**
 * The audit trail as JSONL: one stored event per line, exactly as the store holds it (the file
 * sink writes the same format, so its output can be verified offline too). Reading keeps each
 * line's parsed object as is — it is what gets hashed — and reports lines that are not JSON.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GatehouseError } from '../domain/errors.js';
import type { AuditEvent } from './types.js';

export function eventLine(e: AuditEvent): string {
  return `${JSON.stringify(e)}\n`;
}

/** A line that is not JSON: its number and a marker the verifier reports as malformed. */
export interface BadLine {
  readonly badLine: number;
  readonly text: string;
}

/** Parsed lines of a JSONL file, streamed (blank lines skipped). */
export async function* readJsonl(path: string): AsyncGenerator<unknown> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new GatehouseError('GH_ERR_BAD_INPUT', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as unknown;
    } catch {
      yield { badLine: n, text: line.slice(0, 80) } satisfies BadLine;
    }
  }
}

/**
 * An anchor as a SIEM holds it: the checkpoint event's JSON, possibly wrapped the way a sink
 * shipped it (`{"event": {...}}` from Splunk HEC). `text` is the JSON itself, or the contents of a
 * file: one JSON document, or JSONL whose last `audit.checkpoint` is taken.
 */
export function parseAnchor(text: string): AuditEvent {
  const unwrap = (v: unknown): unknown => (v !== null && typeof v === 'object' && 'event' in v && !('type' in v) ? (v as { event: unknown }).event : v);
  const isCheckpoint = (v: unknown): v is AuditEvent => v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'audit.checkpoint';
  const trimmed = text.trim();
  try {
    const one = unwrap(JSON.parse(trimmed));
    if (isCheckpoint(one)) return one;
    if (Array.isArray(one)) {
      const last = one.map(unwrap).filter(isCheckpoint).at(-1);
      if (last) return last;
    }
  } catch {
    // not one document: try JSONL
  }
  let last: AuditEvent | undefined;
  for (const line of trimmed.split('\n')) {
    try {
      const v = unwrap(JSON.parse(line));
      if (isCheckpoint(v)) last = v;
    } catch {
      // skip lines that are not JSON (syslog headers and the like)
    }
  }
  if (last === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'the anchor holds no audit.checkpoint event');
  return last;
}
