/**
 * The live view (src/recording/live.ts): a watcher who joins late gets the current screen (rebuilt
 * from the recording so far) and then live output, with no gap and no duplicate; redacted like the
 * recording; resynced from a fresh snapshot when it falls behind; told why the session ended.
 */
import { join } from 'node:path';
import headless from '@xterm/headless';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LiveHub, type WatcherSink } from '../../../src/recording/live.js';
import { CastWriter } from '../../../src/recording/writer.js';
import { testScope, until } from '../../fixtures/scope.js';

const scope = testScope();

interface Recorder extends WatcherSink {
  msgs: ({ kind: 'snapshot'; screen: string; cols: number; rows: number } | { kind: 'o'; text: string } | { kind: 'r'; cols: number; rows: number } | { kind: 'end'; reason: string })[];
  load: number;
}

function sink(): Recorder {
  const s: Recorder = {
    msgs: [],
    load: 0,
    snapshot: (screen, cols, rows) => s.msgs.push({ kind: 'snapshot', screen, cols, rows }),
    output: (text) => s.msgs.push({ kind: 'o', text }),
    resize: (cols, rows) => s.msgs.push({ kind: 'r', cols, rows }),
    end: (reason) => s.msgs.push({ kind: 'end', reason }),
    get buffered() {
      return s.load;
    },
  };
  return s;
}

/** What a browser would show: the last snapshot and everything after it, in a fresh terminal. */
async function screenOf(r: Recorder): Promise<string[]> {
  const last = r.msgs.map((m) => m.kind).lastIndexOf('snapshot');
  const snap = r.msgs[last] as { screen: string; cols: number; rows: number };
  const term = new headless.Terminal({ cols: snap.cols, rows: snap.rows, allowProposedApi: true });
  let data = snap.screen;
  for (const m of r.msgs.slice(last + 1)) if (m.kind === 'o') data += m.text;
  await new Promise<void>((res) => term.write(data, res));
  return lines(term);
}

function lines(term: InstanceType<typeof headless.Terminal>): string[] {
  const b = term.buffer.active;
  const out: string[] = [];
  for (let i = 0; i < term.rows; i++) out.push(b.getLine(b.viewportY + i)?.translateToString(true) ?? '');
  return out;
}

async function setup(maxOutputBytes = 1 << 24): Promise<{ hub: LiveHub; emit: (s: string | Buffer) => void; writer: CastWriter; reference: () => Promise<string[]> }> {
  const dir = await scope.tempDir();
  const writer = await CastWriter.open(join(dir, 's.cast'), { width: 40, height: 8, timestamp: 0, session_id: 's', grant_id: 'g', incident: 'I', user: 'u', target: 't', broker: 'b', kind: 'shell' }, { maxOutputBytes, onError: () => {} });
  scope.defer(() => writer.close().catch(() => {}));
  const taps = new Set<(chunk: Buffer) => void>();
  const source = { isLive: true, taps, spec: { pty: { cols: 40, rows: 8 } } };
  const hub = new LiveHub({ session: (id) => (id === 's' ? source : undefined), recording: () => writer, redact: true, log: pino({ level: 'silent' }) });
  scope.defer(() => hub.close());
  const all: string[] = [];
  // The relay's order: the recording first, then the taps.
  const emit = (s: string | Buffer): void => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
    all.push(b.toString('latin1'));
    writer.output(b);
    for (const t of taps) t(b);
  };
  const reference = async (): Promise<string[]> => {
    const term = new headless.Terminal({ cols: 40, rows: 8, allowProposedApi: true });
    const { redactText } = await import('../../../src/recording/redact.js');
    await new Promise<void>((res) => term.write(redactText(Buffer.from(all.join(''), 'latin1').toString('utf8')), res));
    return lines(term);
  };
  return { hub, emit, writer, reference };
}

describe('LiveHub', () => {
  it('a late watcher sees the current screen, then live output, without gap or duplicate', async () => {
    const { hub, emit, reference } = await setup();
    for (let i = 1; i <= 12; i++) emit(`line ${i}\r\n`);
    emit('\x1b[1;31mred\x1b[0m export TOKEN=abc123\r\n$ ');
    const w = sink();
    hub.watch('s', w);
    // Output keeps coming while the snapshot is being built.
    emit('echo during-join\r\n');
    await until(() => w.msgs.some((m) => m.kind === 'snapshot'), 5_000, 'snapshot');
    emit('after-join AKIAIOSFODNN7EXAMPLE\r\n$ ');
    await until(() => w.msgs.some((m) => m.kind === 'o' && m.text.includes('after-join')), 5_000, 'live output');
    const screen = await screenOf(w);
    expect(screen).toEqual(await reference());
    expect(screen.join('\n')).toContain('export TOKEN=******');
    expect(screen.join('\n')).toContain('after-join AKIA****************');
    expect(screen.join('\n')).not.toContain('abc123');
    const text = w.msgs.map((m) => (m.kind === 'o' ? m.text : m.kind === 'snapshot' ? m.screen : '')).join('');
    expect(text.match(/during-join/g)).toHaveLength(1);
    expect(hub.watchers('s')).toBe(1);
  });

  it('redraws every watcher from a flood\'s screen sample, then follows live output again', async () => {
    const { hub, emit, writer } = await setup();
    emit('before\r\n');
    const w = sink();
    hub.watch('s', w);
    await until(() => w.msgs.some((m) => m.kind === 'snapshot'), 5_000, 'snapshot');
    // What the recording thread sends during a flood of unrecorded output (flood.ts, sample.ts).
    writer.followScreen(Buffer.from('cut-off\r\nsample 1 password=hunter2\r\nsample 2\r\n'), false);
    await until(() => w.msgs.filter((m) => m.kind === 'snapshot').length === 2, 5_000, 'the redraw');
    emit('after the flood\r\n');
    await until(() => w.msgs.some((m) => m.kind === 'o' && m.text.includes('after the flood')), 5_000, 'live output');
    const screen = (await screenOf(w)).join('\n');
    expect(screen).toContain('sample 1 password=*******');
    expect(screen).toContain('after the flood');
    expect(screen).not.toContain('cut-off');
    expect(screen).not.toContain('before');
  });

  it('resyncs a watcher that falls behind from a fresh snapshot, and drops none of the others', async () => {
    const { hub, emit, reference } = await setup();
    const slow = sink();
    const fast = sink();
    hub.watch('s', slow);
    hub.watch('s', fast);
    await until(() => slow.msgs.length > 0 && fast.msgs.length > 0, 5_000, 'snapshots');
    slow.load = 10 * 1024 * 1024; // its socket is backed up
    for (let i = 0; i < 50; i++) emit(`burst ${i}\r\n`);
    const got = slow.msgs.length;
    emit('more\r\n');
    expect(slow.msgs.length).toBe(got); // nothing more is queued for it
    slow.load = 0; // drained
    await until(() => slow.msgs.filter((m) => m.kind === 'snapshot').length === 2, 5_000, 'resync snapshot');
    emit('final\r\n');
    await until(() => slow.msgs.some((m) => m.kind === 'o' && m.text.includes('final')) && fast.msgs.some((m) => m.kind === 'o' && m.text.includes('final')), 5_000, 'final');
    const want = await reference();
    expect(await screenOf(slow)).toEqual(want);
    expect(await screenOf(fast)).toEqual(want);
    expect(fast.msgs.filter((m) => m.kind === 'snapshot')).toHaveLength(1);
  });

  it('in a flood stops feeding its terminal, and still gives an exact screen from the tail', async () => {
    const { hub, emit, reference } = await setup();
    const early = sink();
    hub.watch('s', early);
    await until(() => early.msgs.length > 0, 5_000, 'snapshot');
    const line = `${'x'.repeat(70)}\r\n`;
    for (let i = 0; i < 40_000; i++) emit(`${i} ${line}`); // ~3 MB at once
    emit('\x1b[1;33mlast screen\x1b[0m\r\n$ ');
    const late = sink();
    hub.watch('s', late);
    await until(() => late.msgs.some((m) => m.kind === 'snapshot'), 5_000, 'late snapshot');
    const want = await reference();
    expect(await screenOf(late)).toEqual(want);
    expect(await screenOf(early)).toEqual(want);
  });

  it('keeps streaming, still redacted, past the recording cap (from the relay, not the recording)', async () => {
    const { hub, emit } = await setup(2048);
    const w = sink();
    hub.watch('s', w);
    await until(() => w.msgs.length > 0, 5_000, 'snapshot');
    for (let i = 0; i < 40; i++) emit(`before cap ${i}\r\n`);
    emit('past the cap: token=abc123\r\n');
    await until(() => w.msgs.some((m) => m.kind === 'o' && m.text.includes('past the cap')), 5_000, 'output past the cap');
    const text = w.msgs.map((m) => (m.kind === 'o' ? m.text : '')).join('');
    expect(text).toContain('token=******');
    expect(text.match(/before cap 39\r\n/g)).toHaveLength(1);
  });

  it('follows resizes and tells every watcher why the session ended', async () => {
    const { hub, emit, writer } = await setup();
    const w = sink();
    const watch = hub.watch('s', w);
    await until(() => w.msgs.length > 0, 5_000, 'snapshot');
    writer.resize(100, 30);
    emit('wide\r\n');
    hub.ended('s', 'killed');
    await until(() => w.msgs.some((m) => m.kind === 'end'), 5_000, 'end');
    expect(w.msgs.filter((m) => m.kind !== 'snapshot')).toEqual([{ kind: 'r', cols: 100, rows: 30 }, { kind: 'o', text: 'wide\r\n' }, { kind: 'end', reason: 'killed' }]);
    expect(hub.watchers('s')).toBe(0);
    watch.close();
  });

  it('refuses sessions it does not hold', async () => {
    const { hub } = await setup();
    expect(() => hub.watch('other', sink())).toThrow(expect.objectContaining({ code: 'GH_ERR_SESSION_NOT_FOUND' }));
  });
});
