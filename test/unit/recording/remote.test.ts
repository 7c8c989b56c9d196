/**
 * The recording thread (remote.ts ↔ thread.ts): what it writes is what an in-thread CastWriter
 * writes, arrival times are kept across the thread hop, a live view gets the file prefix plus
 * everything after it (also past the output cap), and a recording that cannot be opened is refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCast, readCast } from '../../../src/recording/reader.js';
import { TAIL_BYTES } from '../../../src/recording/flood.js';
import { RemoteRecording } from '../../../src/recording/remote.js';
import { CastWriter, type CastHeader } from '../../../src/recording/writer.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();
const HEADER: CastHeader = { width: 80, height: 24, timestamp: 1_767_258_000, session_id: 's-r', grant_id: 'g-r', incident: 'INC-1', user: 'alice', target: 'web-1', broker: 'b1', kind: 'exec' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('recording on its own thread', () => {
  it('writes what an in-thread writer writes, with the arrival times', async () => {
    const dir = await scope.tempDir();
    const remote = await RemoteRecording.open(join(dir, 'remote.cast'), HEADER, { maxOutputBytes: 1 << 20, onError: () => {} });
    const local = await CastWriter.open(join(dir, 'local.cast'), HEADER, { maxOutputBytes: 1 << 20, onError: () => {} });
    const pieces = ['$ ', 'echo token=hunter2\r\n', 'token=hunter2\r\n', 'héllo wörld\r\n', '$ '];
    for (const p of pieces) {
      remote.output(Buffer.from(p));
      local.output(Buffer.from(p));
      await sleep(30);
    }
    remote.resize(100, 30);
    remote.marker('allow: echo token=hunter2');
    const summary = await remote.close();
    await local.close();
    const a = await readCast(join(dir, 'remote.cast'));
    const b = await readCast(join(dir, 'local.cast'));
    const text = (c: typeof a): string => c.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(text(a)).toBe(text(b));
    expect(text(a)).toContain('token=*******');
    expect(a.events.filter((e) => e[1] !== 'o').map((e) => [e[1], e[2]])).toEqual([
      ['r', '100x30'],
      ['m', 'allow: echo token=*******'],
    ]);
    // ~30 ms between pieces survives the hop (times are taken on arrival, not on processing).
    const times = a.events.filter((e) => e[1] === 'o').map((e) => e[0]);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThan(0.02);
    const bytes = await readFile(join(dir, 'remote.cast'));
    expect(summary).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, truncated: false });
  });

  it('hands a live view the file so far, then everything after it, also past the cap', async () => {
    const dir = await scope.tempDir();
    const r = await RemoteRecording.open(join(dir, 'live.cast'), HEADER, { maxOutputBytes: 2048, onError: () => {} });
    r.output(Buffer.from('before-the-watcher\r\n'));
    const seen: string[] = [];
    const w = r.watch({ output: (t) => seen.push(t), resize: () => {}, screen: () => seen.push('<screen>') });
    r.output(Buffer.from('after-the-watcher\r\n'));
    r.output(Buffer.alloc(4096, 0x61)); // past the 2 KiB cap: not recorded, still shown live
    r.output(Buffer.from('\r\nstill-live\r\n'));
    const h = await w.handoff;
    const prefix = parseCast((await readFile(h.path)).subarray(0, h.bytes).toString('utf8'));
    expect(prefix.events.map((e) => e[2]).join('')).toBe('before-the-watcher\r\n');
    await r.close();
    await sleep(20);
    expect(seen.join('')).toBe(`after-the-watcher\r\n${'a'.repeat(4096)}\r\nstill-live\r\n`);
    const cast = await readCast(join(dir, 'live.cast'));
    // The unrecorded part (from the chunk that crossed the cap) was hashed on this thread.
    const rest = Buffer.concat([Buffer.alloc(4096, 0x61), Buffer.from('\r\nstill-live\r\n')]);
    expect(cast.events.at(-1)?.[2]).toBe(`unrecorded output: ${rest.length} bytes, sha256 ${createHash('sha256').update(rest).digest('hex')}`);
  });

  it.each([
    ['unrecorded (past the cap: sampled on this thread)', 1024],
    ['recorded (sampled on the recording thread)', 64 * 1024 * 1024],
  ])('during a flood of %s output, gives a live view screen samples instead of every byte', async (_, maxOutputBytes) => {
    const dir = await scope.tempDir();
    const r = await RemoteRecording.open(join(dir, 'flood.cast'), HEADER, { maxOutputBytes, redact: true, onError: () => {} });
    r.output(Buffer.alloc(2048, 0x2e));
    const output: string[] = [];
    const screens: { text: string; flooding: boolean }[] = [];
    const w = r.watch({ output: (t) => output.push(t), resize: () => {}, screen: (text, flooding) => screens.push({ text, flooding }) });
    await w.handoff;
    r.output(Buffer.from('quiet line\r\n'));
    await sleep(50);
    expect(output.join('')).toBe('quiet line\r\n');
    // ~1.2 s at ~8 MB/s: a flood (over 2.6 MB/s). A secret near the end must come out redacted.
    const line = Buffer.from(`${'x'.repeat(1000)}\r\n`);
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 1200) {
      for (let i = 0; i < 40; i++) r.output(line);
      sent += 40 * line.length;
      await sleep(5);
    }
    r.output(Buffer.from('the end: token=hunter2\r\n'));
    await sleep(500);
    const live = output.join('').length;
    // Byte by byte only until the flood was detected (128 KiB within 50 ms), then samples.
    expect(live).toBeLessThan(256 * 1024);
    expect(sent).toBeGreaterThan(4 * 1024 * 1024);
    expect(screens.filter((s) => s.flooding).length).toBeGreaterThanOrEqual(1);
    const last = screens.at(-1) as { text: string; flooding: boolean };
    expect(last.flooding).toBe(false);
    expect(last.text.length).toBeLessThanOrEqual(TAIL_BYTES);
    expect(last.text).toMatch(/^x+\r\n/);
    expect(last.text.endsWith('the end: token=*******\r\n')).toBe(true);
    // After the flood, byte by byte again.
    r.output(Buffer.from('after the flood\r\n'));
    await sleep(50);
    expect(output.join('').slice(live)).toBe('after the flood\r\n');
    w.stop();
    await r.close();
  });

  it.each([
    ['unrecorded', 1024],
    ['recorded', 64 * 1024 * 1024],
  ])('ends a flood of %s output with a last screen sample when the session ends in it', async (_, maxOutputBytes) => {
    const dir = await scope.tempDir();
    const r = await RemoteRecording.open(join(dir, 'flood-end.cast'), HEADER, { maxOutputBytes, onError: () => {} });
    r.output(Buffer.alloc(2048, 0x2e));
    const screens: { text: string; flooding: boolean }[] = [];
    const w = r.watch({ output: () => {}, resize: () => {}, screen: (text, flooding) => screens.push({ text, flooding }) });
    await w.handoff;
    for (let i = 0; i < 300; i++) r.output(Buffer.from(`${String(i).padStart(999, '-')}\n`));
    r.output(Buffer.from('the very end\n'));
    await r.close(); // right away: no quiet period, no sample interval
    expect(screens.at(-1)).toMatchObject({ flooding: false });
    expect(screens.at(-1)?.text.endsWith('the very end\n')).toBe(true);
    w.stop();
  });

  it('refuses a recording that cannot be created', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'dup.cast');
    const first = await RemoteRecording.open(path, HEADER, { maxOutputBytes: 1024, onError: () => {} });
    await expect(RemoteRecording.open(path, HEADER, { maxOutputBytes: 1024, onError: () => {} })).rejects.toThrow(/EEXIST/);
    await first.close();
  });
});
