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
    const w = r.watch({ output: (t) => seen.push(t), resize: () => {} });
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

  it('refuses a recording that cannot be created', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'dup.cast');
    const first = await RemoteRecording.open(path, HEADER, { maxOutputBytes: 1024, onError: () => {} });
    await expect(RemoteRecording.open(path, HEADER, { maxOutputBytes: 1024, onError: () => {} })).rejects.toThrow(/EEXIST/);
    await first.close();
  });
});
