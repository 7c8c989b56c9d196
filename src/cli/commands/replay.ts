/**
 * gatehouse replay ID [--speed N] [--from MARKER] [--idle-limit S] [--markers]
 *
 * Plays a recording in this terminal with its original timing (times `--speed`, pauses capped at
 * `--idle-limit` seconds). `--from` starts at a command marker: its number in `--markers`, or text
 * it contains; what came before is drawn at once. Escape sequences that would act on this
 * terminal rather than draw on it (clipboard, titles, fonts, queries, DCS...) are removed
 * (recording/sanitize.ts), and the terminal's modes are reset at the end.
 */
import * as grpc from '@grpc/grpc-js';
import { GatehouseError } from '../../domain/errors.js';
import { parseCast, type Cast } from '../../recording/reader.js';
import { TERMINAL_RESET, TerminalSanitizer } from '../../recording/sanitize.js';
import { CLIENT_OPTIONS, clientOpts, output, parse, str } from '../args.js';
import { connect, fromGrpcError, type ApiClient } from '../client.js';

export async function replayCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...CLIENT_OPTIONS, speed: { type: 'string' }, from: { type: 'string' }, 'idle-limit': { type: 'string' }, markers: { type: 'boolean', default: false } }, 1);
  const id = positionals[0];
  if (id === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a session id is required: gatehouse replay ID');
  const speed = number(str(values, 'speed') ?? '1', '--speed');
  const idle = number(str(values, 'idle-limit') ?? '2', '--idle-limit');
  const api = connect(clientOpts(values));
  let cast: Cast;
  try {
    cast = parseCast(await fetchRecording(api, id));
  } finally {
    api.close();
  }
  const marks = cast.events.filter((e) => e[1] === 'm').map(([time, , label], i) => ({ n: i + 1, time, label }));
  if (values.markers === true) {
    output(values.json === true, marks, () => (marks.length === 0 ? 'no markers' : marks.map((m) => `${String(m.n).padStart(3)}  ${clock(m.time)}  ${m.label}`).join('\n')));
    return 0;
  }
  const from = str(values, 'from');
  let start = 0;
  if (from !== undefined) {
    const m = /^\d+$/.test(from) ? marks[Number(from) - 1] : marks.find((x) => x.label.toLowerCase().includes(from.toLowerCase()));
    if (m === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', `no marker ${JSON.stringify(from)} in this recording (see gatehouse replay ${id} --markers)`);
    start = m.time;
  }
  const h = cast.header;
  const last = cast.events.at(-1)?.[0] ?? 0;
  process.stderr.write(`gatehouse: replaying ${id}: ${String(h.user)} on ${String(h.target)} (${String(h.incident)}), ${h.width}x${h.height}, ${clock(last)}${cast.torn ? ', interrupted' : ''}; Ctrl-C stops\n`);
  const out = process.stdout;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  try {
    await play(cast, start, speed, idle, {
      write: (text) => (out.write(text) ? undefined : new Promise((r) => out.once('drain', r))),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      stopped: () => stopped,
    });
  } finally {
    process.off('SIGINT', stop);
    if (out.isTTY === true) out.write(TERMINAL_RESET);
  }
  return stopped ? 130 : 0;
}

/** Where play() writes and how it waits: the terminal and real time, or a test's clock. */
export interface PlayTarget {
  /** Writes text; a promise when the output wants the caller to wait (backpressure). */
  write(text: string): Promise<void> | undefined;
  sleep(ms: number): Promise<void>;
  /** Ctrl-C: stop before the next event. */
  stopped(): boolean;
}

/**
 * Plays the output events, sanitized: those at or before `start` (seconds) at once, in one write;
 * each later one after its delay from the one before (from `start` for the first), capped at
 * `idle` seconds, divided by `speed`.
 */
export async function play(cast: Cast, start: number, speed: number, idle: number, to: PlayTarget): Promise<void> {
  const clean = new TerminalSanitizer();
  let clockAt = start;
  let pending = '';
  for (const [time, code, data] of cast.events) {
    if (to.stopped()) break;
    if (code !== 'o') continue;
    if (time > start) {
      if (pending !== '') {
        await to.write(pending);
        pending = '';
      }
      const wait = Math.min(time - clockAt, idle) / speed;
      clockAt = time;
      if (wait > 0.001) await to.sleep(wait * 1000);
      await to.write(clean.push(data));
    } else pending += clean.push(data);
  }
  if (pending !== '') await to.write(pending);
  await to.write(clean.end());
}

/** The recording as asciicast text (GetRecording stream). */
export function fetchRecording(api: ApiClient, id: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fn = (api.raw as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<{ data: Buffer }>>).getRecording;
    if (fn === undefined) return reject(new GatehouseError('GH_ERR_INTERNAL', 'no RPC getRecording'));
    const call = fn.call(api.raw, { id }, api.metadata);
    const chunks: Buffer[] = [];
    call.on('data', (m: { data: Buffer }) => chunks.push(m.data));
    call.on('error', (err: grpc.ServiceError) => reject(fromGrpcError(err, 'the broker')));
    // Complete only when the stream has ended and the broker said OK.
    let ok = false;
    let ended = false;
    const finish = (): void => {
      if (ok && ended) resolve(Buffer.concat(chunks).toString('utf8'));
    };
    call.on('status', (s: grpc.StatusObject) => {
      ok = s.code === grpc.status.OK;
      finish();
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
  });
}

function number(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new GatehouseError('GH_ERR_BAD_INPUT', `${name} takes a positive number, not ${JSON.stringify(v)}`);
  return n;
}

const clock = (s: number): string => `${String(Math.floor(s / 60)).padStart(2, '0')}:${(s % 60).toFixed(1).padStart(4, '0')}`;
