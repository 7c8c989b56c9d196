/**
 * The recording thread: every CastWriter of the broker runs here, off the thread that relays
 * keystrokes and output. The relay thread sends, once per tick, a batch of operations with the
 * bytes they carry (one transferred buffer) and the time each piece arrived; this thread decodes,
 * redacts, formats and writes, in order, and acknowledges each batch once its writers are no longer
 * congested — so the disk, the redactor and JSON encoding apply backpressure to the target without
 * ever occupying the relay thread. Protocol: remote.ts.
 */
import { parentPort } from 'node:worker_threads';
import { CastWriter, type CastHeader, type CastWriterOptions, type LiveHandoff, type UnrecordedTail } from './writer.js';
import { TextFloodSampler } from './flood.js';
import type { FromThread, ToThread } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('recording/thread.ts runs as a worker thread');

const writers = new Map<number, CastWriter>();
/** Follower output batched per tick, per recording. */
const followed = new Map<number, string[]>();
let followFlush = false;
/** Floods of recorded output, sampled for the live view like unrecorded ones (flood.ts). */
const floods = new Map<number, TextFloodSampler>();

function post(m: FromThread): void {
  port?.postMessage(m);
}

function follow(id: number, text: string): void {
  if (floods.get(id)?.push(text)) return;
  let list = followed.get(id);
  if (list === undefined) {
    list = [];
    followed.set(id, list);
  }
  list.push(text);
  if (!followFlush) {
    followFlush = true;
    setImmediate(() => {
      followFlush = false;
      for (const [fid, texts] of followed) post({ op: 'followed', id: fid, text: texts.join('') });
      followed.clear();
    });
  }
}

/** A screen for the live view, after the output followed so far (still waiting for the end of the tick). */
function screen(id: number, text: string, flooding: boolean): void {
  const before = followed.get(id);
  if (before !== undefined) post({ op: 'followed', id, text: before.join('') });
  followed.delete(id);
  post({ op: 'followedScreen', id, text, flooding });
}

async function open(id: number, path: string, header: CastHeader, opts: Omit<CastWriterOptions, 'onError' | 'onStop'>): Promise<void> {
  try {
    const w = await CastWriter.open(path, header, {
      ...opts,
      onError: (err) => post({ op: 'error', id, message: err.message }),
      onStop: (offset) => post({ op: 'stopped', id, offset }),
    });
    writers.set(id, w);
    post({ op: 'opened', id });
  } catch (err) {
    post({ op: 'error', id, message: (err as Error).message, opening: true });
  }
}

async function close(id: number, tail: UnrecordedTail | undefined): Promise<void> {
  const w = writers.get(id);
  if (w === undefined) return post({ op: 'closed', id, error: 'no such recording' });
  floods.get(id)?.flush(); // a live view sees where a flood ended, before the end
  try {
    const summary = await w.close(tail);
    post({ op: 'closed', id, summary, file: w.file });
  } catch (err) {
    post({ op: 'closed', id, error: (err as Error).message });
  } finally {
    writers.delete(id);
    floods.get(id)?.dispose();
    floods.delete(id);
  }
}

function watch(id: number, req: number): void {
  const w = writers.get(id);
  if (w === undefined) return post({ op: 'handoff', id, req, error: 'no such recording' });
  // Handoff and subscription in one step, between two batches: nothing missed, nothing twice.
  let h: LiveHandoff;
  try {
    h = w.liveHandoff();
  } catch (err) {
    return post({ op: 'handoff', id, req, error: (err as Error).message });
  }
  floods.get(id)?.dispose();
  floods.set(id, new TextFloodSampler((text, flooding) => screen(id, text, flooding)));
  w.follow({
    output: (text) => follow(id, text),
    resize: (cols, rows) => post({ op: 'followedResize', id, cols, rows }),
    screen: (text, flooding) => screen(id, text, flooding),
  });
  post({ op: 'handoff', id, req, path: h.path, bytes: h.bytes });
}

/**
 * Acknowledges batches once every writer they touched has room again, in order. While some writer
 * is congested, later batches wait behind it (one drain wait at a time, not one listener per batch).
 */
const unacked: { bytes: number; touched: readonly CastWriter[] }[] = [];
let waiting = false;
function ack(bytes: number, touched: readonly CastWriter[]): void {
  unacked.push({ bytes, touched });
  settle();
}

function settle(): void {
  if (waiting) return;
  while (unacked.length > 0) {
    const head = unacked[0] as (typeof unacked)[number];
    const busy = head.touched.find((w) => w.congested);
    if (busy !== undefined) {
      waiting = true;
      busy.onceDrained(() => {
        waiting = false;
        settle();
      });
      return;
    }
    unacked.shift();
    post({ op: 'ack', bytes: head.bytes });
  }
}

port.on('message', (m: ToThread) => {
  switch (m.op) {
    case 'open':
      void open(m.id, m.path, m.header, m.opts);
      break;
    case 'batch': {
      const data = Buffer.from(m.data, 0, m.length);
      const touched = new Set<CastWriter>();
      for (const e of m.events) {
        const w = writers.get(e[1]);
        if (w === undefined) continue;
        touched.add(w);
        switch (e[0]) {
          case 'o':
            w.output(data.subarray(e[3], e[3] + e[4]), e[2]);
            break;
          case 'i':
            w.input(data.subarray(e[3], e[3] + e[4]), e[2]);
            break;
          case 'r':
            w.resize(e[3], e[4], e[2]);
            break;
          case 'm':
            w.marker(e[3], e[2]);
            break;
          case 's':
            w.followScreen(data.subarray(e[3], e[3] + e[4]), e[5] === 1);
            break;
        }
      }
      // The batch is the session's last 500 ms at most (thread-port.ts): its lines go to the file now.
      for (const w of touched) w.flush();
      ack(m.length, [...touched]);
      break;
    }
    case 'watch':
      watch(m.id, m.req);
      break;
    case 'unwatch':
      writers.get(m.id)?.follow({ output: () => {}, resize: () => {} })();
      floods.get(m.id)?.dispose();
      floods.delete(m.id);
      break;
    case 'close':
      void close(m.id, m.tail);
      break;
  }
});
