/**
 * asciicast v2 writer and reader: round trip, crash tolerance, the output cap and binary elision
 * (with the SHA-256 of exactly the bytes not recorded), file hashing, gzip.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCast, readCast, type CastEvent } from '../../src/recording/reader.js';
import { CastWriter, type CastHeader } from '../../src/recording/writer.js';
import { testScope } from '../fixtures/scope.js';

const scope = testScope();
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

const HEADER: CastHeader = {
  width: 80,
  height: 24,
  timestamp: 1_767_258_000,
  title: 'alice on web-1',
  env: { TERM: 'xterm-256color', SHELL: '/bin/bash' },
  session_id: 's-0123456789abcdefghjkm',
  grant_id: 'g-0123456789abcdefghjkm',
  incident: 'INC-1',
  user: 'alice',
  target: 'web-1',
  broker: 'b1',
  kind: 'shell',
  command: null,
};

async function writer(maxOutputBytes = 1 << 20): Promise<{ w: CastWriter; path: string; errors: Error[] }> {
  const path = join(await scope.tempDir(), '2026', '01', '01', 'x.cast');
  const errors: Error[] = [];
  const w = await CastWriter.open(path, HEADER, { maxOutputBytes, onError: (e) => errors.push(e) });
  return { w, path, errors };
}

const codes = (events: readonly CastEvent[]): string => events.map((e) => e[1]).join('');
const outputText = (events: readonly CastEvent[]): string =>
  events
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
const markers = (events: readonly CastEvent[]): string[] => events.filter((e) => e[1] === 'm').map((e) => e[2]);

describe('CastWriter + readCast', () => {
  it('round-trips header, output, input, resize and markers, in order', async () => {
    const { w, path, errors } = await writer();
    w.output(Buffer.from('$ '));
    w.input(Buffer.from('ls\r'));
    w.output(Buffer.from('ls\r\nfile-1  \x1b[31mfile-2\x1b[0m\r\n'));
    w.resize(120, 40);
    w.marker('ls [allow]');
    const summary = await w.close();
    const cast = await readCast(path);
    expect(cast.header).toEqual({ version: 2, ...HEADER });
    expect(cast.torn).toBe(false);
    expect(cast.events.map((e) => [e[1], e[2]])).toEqual([
      ['o', '$ '],
      ['i', 'ls\r'],
      ['o', 'ls\r\nfile-1  \x1b[31mfile-2\x1b[0m\r\n'],
      ['r', '120x40'],
      ['m', 'ls [allow]'],
    ]);
    const times = cast.events.map((e) => e[0]);
    expect(times.every((t, i) => t >= 0 && (i === 0 || t >= (times[i - 1] as number)))).toBe(true);
    expect(summary.truncated).toBe(false);
    expect(errors).toEqual([]);
  });

  it('close() returns the SHA-256 and size of the file on disk, and is idempotent', async () => {
    const { w, path } = await writer();
    for (let i = 0; i < 200; i++) w.output(Buffer.from(`line ${i} ✓\r\n`));
    const summary = await w.close();
    const disk = await readFile(path);
    expect(summary).toEqual({ sha256: sha(disk), bytes: disk.length, truncated: false });
    w.output(Buffer.from('after close'));
    w.marker('after close');
    expect(await w.close()).toEqual(summary);
    expect(await readFile(path)).toEqual(disk);
  });

  it('never overwrites an existing recording', async () => {
    const { w, path } = await writer();
    await w.close();
    await expect(CastWriter.open(path, HEADER, { maxOutputBytes: 1024, onError: () => {} })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('does not treat a UTF-8 character split across chunks as binary', async () => {
    const { w, path } = await writer();
    const text = Buffer.from('€ 😀 é');
    for (const byte of text) w.output(Buffer.from([byte]));
    const inText = Buffer.from('ü😀');
    w.input(inText.subarray(0, 1));
    w.input(inText.subarray(1, 3));
    w.input(inText.subarray(3));
    expect((await w.close()).truncated).toBe(false);
    const cast = await readCast(path);
    expect(outputText(cast.events)).toBe('€ 😀 é');
    expect(cast.events.filter((e) => e[1] === 'i').map((e) => e[2])).toEqual(['ü', '😀']);
    expect(markers(cast.events)).toEqual([]);
  });

  it('records a literal U+FFFD the target sent as text, not as binary', async () => {
    const { w, path } = await writer();
    w.output(Buffer.from('bad char: \uFFFD ok'));
    expect((await w.close()).truncated).toBe(false);
    expect(outputText((await readCast(path)).events)).toBe('bad char: \uFFFD ok');
  });
});

describe('output cap and binary elision', () => {
  it('stops at the cap with a marker; the closing marker hashes exactly the unrecorded bytes', async () => {
    const { w, path } = await writer(1024);
    const a = Buffer.alloc(1000, 'a');
    const b = Buffer.alloc(100, 'b');
    const c = Buffer.from('tail of the stream\r\n');
    w.output(a);
    w.output(b);
    w.output(c);
    w.input(Buffer.from('q'));
    const summary = await w.close();
    const cast = await readCast(path);
    expect(outputText(cast.events)).toBe(a.toString());
    const unrecorded = Buffer.concat([b, c]);
    expect(markers(cast.events)).toEqual([
      'output recording stopped at the 1024-byte cap; the stream continues unrecorded',
      `unrecorded output: ${unrecorded.length} bytes, sha256 ${sha(unrecorded)}`,
    ]);
    expect(codes(cast.events)).toBe('omim');
    expect(summary.truncated).toBe(true);
    expect(summary.sha256).toBe(sha(await readFile(path)));
  });

  it('accounts for a character split across the cap: recorded text + unrecorded bytes = everything sent', async () => {
    const { w, path } = await writer(1024);
    const euro = Buffer.from('€'); // e2 82 ac
    const first = Buffer.concat([Buffer.alloc(1022, 'a'), euro.subarray(0, 1)]); // 1023 bytes: under the cap
    const second = Buffer.concat([euro.subarray(1), Buffer.from('zz')]); // crosses it
    w.output(first);
    w.output(second);
    await w.close();
    const cast = await readCast(path);
    const recorded = Buffer.from(outputText(cast.events));
    const unrecorded = Buffer.concat([first, second]).subarray(recorded.length);
    expect(recorded.toString()).toBe('a'.repeat(1022));
    expect(markers(cast.events).at(-1)).toBe(`unrecorded output: ${unrecorded.length} bytes, sha256 ${sha(unrecorded)}`);
  });

  it('elides binary output from the first non-UTF-8 chunk on, hashing what it skipped', async () => {
    const { w, path } = await writer();
    const bin = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0xff, 0xfe, 0x00, 0x01]);
    const after = Buffer.from('text after the binary\r\n');
    w.output(Buffer.from('$ cat /bin/ls\r\n'));
    w.output(bin);
    w.output(after);
    w.marker('cat /bin/ls [allow]');
    const summary = await w.close();
    const cast = await readCast(path);
    expect(outputText(cast.events)).toBe('$ cat /bin/ls\r\n');
    const skipped = Buffer.concat([bin, after]);
    expect(markers(cast.events)).toEqual(['binary output (not UTF-8): not recorded from here on', 'cat /bin/ls [allow]', `unrecorded output: ${skipped.length} bytes, sha256 ${sha(skipped)}`]);
    expect(summary.truncated).toBe(true);
  });

  it('counts a held partial character into the elided bytes when the next chunk turns out binary', async () => {
    const { w, path } = await writer();
    const first = Buffer.concat([Buffer.from('ok'), Buffer.from([0xe2])]);
    const second = Buffer.from([0xff, 0x78]);
    w.output(first);
    w.output(second);
    await w.close();
    const cast = await readCast(path);
    expect(outputText(cast.events)).toBe('ok');
    const skipped = Buffer.from([0xe2, 0xff, 0x78]);
    expect(markers(cast.events).at(-1)).toBe(`unrecorded output: 3 bytes, sha256 ${sha(skipped)}`);
  });
  it('accounts for output that ends inside a character', async () => {
    const { w, path } = await writer();
    w.output(Buffer.from([0x6f, 0x6b, 0xf0, 0x9f]));
    const summary = await w.close();
    const cast = await readCast(path);
    expect(outputText(cast.events)).toBe('ok');
    expect(markers(cast.events)).toEqual([`unrecorded output: 2 bytes, sha256 ${sha(Buffer.from([0xf0, 0x9f]))}`]);
    expect(summary.truncated).toBe(true);
  });
});

describe('parseCast', () => {
  const head = JSON.stringify({ version: 2, width: 80, height: 24 });
  const lines = [head, '[0.1, "o", "one"]', '[0.2, "i", "two"]', '[0.3, "m", "three"]'];

  it('tolerates a torn last line at every cut point', async () => {
    const { w, path } = await writer();
    w.output(Buffer.from('first'));
    w.output(Buffer.from('second "quoted" ✓'));
    await w.close();
    const full = await readFile(path, 'utf8');
    const lastStart = full.lastIndexOf('\n', full.length - 2) + 1;
    for (let cut = lastStart + 1; cut < full.length - 1; cut++) {
      const cast = parseCast(full.slice(0, cut));
      expect(cast.torn, `cut at ${cut}`).toBe(true);
      expect(outputText(cast.events)).toBe('first');
    }
    expect(parseCast(full.slice(0, lastStart)).torn).toBe(false);
  });

  it('rejects a malformed line in the middle', () => {
    expect(() => parseCast([lines[0], lines[1], '[0.2, "i", "tw', lines[3], ''].join('\n'))).toThrow('recording line 3 is not valid JSON');
  });

  it('rejects a malformed last line when the file ends cleanly (it was edited, not torn)', () => {
    expect(() => parseCast([lines[0], lines[1], '[0.3, "o"', ''].join('\n'))).toThrow('recording line 3 is not valid JSON');
  });

  it.each([
    ['{"not":"an event"}'],
    ['[0.1, "x", "bad code"]'],
    ['["0.1", "o", "time is a string"]'],
    ['[0.1, "o", 42]'],
  ])('rejects a line that is JSON but not an event: %s', (line) => {
    expect(() => parseCast([lines[0], line, lines[2], ''].join('\n'))).toThrow('recording line 2 is not an asciicast event');
  });

  it('rejects an empty file and other versions', () => {
    expect(() => parseCast('')).toThrow();
    expect(() => parseCast(`${JSON.stringify({ version: 1, width: 80, height: 24 })}\n`)).toThrow('unsupported asciicast version 1');
  });

  it('reads .cast.gz, and gzip content under any name', async () => {
    const { w, path } = await writer();
    w.output(Buffer.from('zipped ✓'));
    w.marker('m');
    await w.close();
    const plain = await readCast(path);
    const raw = await readFile(path);
    await writeFile(`${path}.gz`, gzipSync(raw));
    await writeFile(`${path}.bin`, gzipSync(raw));
    expect(await readCast(`${path}.gz`)).toEqual(plain);
    expect(await readCast(`${path}.bin`)).toEqual(plain);
    expect(outputText(plain.events)).toBe('zipped ✓');
  });
});
