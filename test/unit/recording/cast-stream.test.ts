/**
 * Streaming reads of recordings (src/recording/cast-stream.ts), the broker's request paths: the
 * outline (header, markers, duration, torn end), dropping a torn last line, and the header rewrite
 * agree with the whole-file reader (reader.ts parseCast) for every cut of a real recording, fed in
 * chunks of every awkward size; gzip is read by content.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text as collect } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { castText, closedWhole, dropTornEnd, openCastFile, outlineCast, withHeader } from '../../../src/recording/cast-stream.js';
import { parseCast } from '../../../src/recording/reader.js';
import { CastWriter, type CastHeader } from '../../../src/recording/writer.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();
const HEADER: CastHeader = { width: 100, height: 30, timestamp: 1_767_258_000, session_id: 's-y', grant_id: 'g-y', incident: 'INC-2', user: 'erin', target: 'db-1', broker: 'b1', kind: 'shell' };

/** A closed recording with output, input, a resize and markers (one with a quote and a newline). */
async function recording(): Promise<{ path: string; text: Buffer }> {
  const path = join(await scope.tempDir(), 's-y.cast');
  const w = await CastWriter.open(path, HEADER, { maxOutputBytes: 1 << 20, onError: () => {} });
  w.output(Buffer.from('$ '));
  w.input(Buffer.from('ls\r'));
  w.marker('allow: ls');
  w.output(Buffer.from('ls\r\nfile ✓\r\n$ '));
  w.resize(120, 40);
  w.marker('deny: echo "a\nb"');
  w.output(Buffer.from('the end\r\n'));
  await w.close();
  return { path, text: await readFile(path) };
}

const chunked = (buf: Buffer, size: number): Readable => Readable.from((function* () {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
})());

async function all(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return out;
}

describe('outlineCast', () => {
  it('gives the header, markers, duration and torn end that parseCast gives, for every cut and chunk size', async () => {
    const { text } = await recording();
    const headerEnd = text.indexOf(0x0a) + 1;
    for (let cut = headerEnd; cut <= text.length; cut++) {
      const part = text.subarray(0, cut);
      const whole = parseCast(part.toString('utf8'));
      const expected = {
        header: whole.header,
        markers: whole.events.filter((e) => e[1] === 'm').map(([time, , label]) => ({ time, label })),
        duration: whole.events.at(-1)?.[0] ?? 0,
        torn: whole.torn,
      };
      for (const size of [1, 7, 64, 1 << 16]) expect(await outlineCast(chunked(part, size))).toEqual(expected);
    }
    const full = await outlineCast(chunked(text, 5));
    expect(full.markers.map((m) => m.label)).toEqual(['allow: ls', 'deny: echo "a\nb"']);
    expect(full.torn).toBe(false);
  });

  it('refuses a malformed line before the end, and a recording without a header', async () => {
    const { text } = await recording();
    const lines = text.toString('utf8').split('\n');
    lines.splice(2, 0, '[1.0, "o", "edited"');
    await expect(outlineCast(chunked(Buffer.from(lines.join('\n')), 64))).rejects.toThrow('recording line 3 is not an asciicast event');
    lines.splice(2, 1, '[1.0, "m", "x\\q"]');
    await expect(outlineCast(chunked(Buffer.from(lines.join('\n')), 64))).rejects.toThrow('recording line 3 is not valid JSON');
    await expect(outlineCast(chunked(Buffer.alloc(0), 1))).rejects.toThrow('empty recording');
  });
});

describe('dropTornEnd', () => {
  it('passes whole lines and drops only an incomplete last one, for every cut and chunk size', async () => {
    const { text } = await recording();
    const headerEnd = text.indexOf(0x0a) + 1;
    for (let cut = headerEnd; cut <= text.length; cut++) {
      const part = text.subarray(0, cut);
      const lastNl = part.lastIndexOf(0x0a) + 1;
      const tail = part.subarray(lastNl).toString('utf8');
      // What remains: every whole line, plus the last one when it was complete but for its newline.
      const kept = part.subarray(0, lastNl).toString('utf8') + (tail !== '' && parseCast(part.toString('utf8')).torn === false ? `${tail}\n` : '');
      for (const size of [1, 13, 1 << 16]) expect(await collect(chunked(part, size).pipe(dropTornEnd()))).toBe(kept);
    }
  });
});

describe('openCastFile and castText', () => {
  it('reads gzip by content, whatever the name, and streams the bytes as they lie', async () => {
    const { path, text } = await recording();
    const gz = join(await scope.tempDir(), 'named-plain.cast');
    await writeFile(gz, gzipSync(text));
    const f = await openCastFile(gz);
    expect(f).toMatchObject({ gzip: true, size: (await readFile(gz)).length });
    expect(await collect(castText(f))).toBe(text.toString('utf8'));
    const plain = await openCastFile(path);
    expect(plain).toMatchObject({ gzip: false, size: text.length });
    expect(Buffer.from(await collect(plain.raw))).toEqual(text);
  });

  it('drops a torn end of a gzipped file too', async () => {
    const { text } = await recording();
    const gz = join(await scope.tempDir(), 'torn.cast.gz');
    await writeFile(gz, gzipSync(Buffer.concat([text, Buffer.from('[9.5, "o", "half a li')])));
    expect(await collect(castText(await openCastFile(gz), true))).toBe(text.toString('utf8'));
  });

  it('treats only a recording closed and hashed as whole', () => {
    expect(closedWhole({ state: 'closed', sha256: 'ab'.repeat(32) })).toBe(true);
    expect(closedWhole({ state: 'closed', sha256: null })).toBe(false);
    expect(closedWhole({ state: 'interrupted', sha256: 'ab'.repeat(32) })).toBe(false);
    expect(closedWhole({ state: 'live', sha256: null })).toBe(false);
  });
});

describe('withHeader', () => {
  it('rewrites the header line and passes the rest unchanged, for every chunk size', async () => {
    const { text } = await recording();
    const nl = text.indexOf(0x0a);
    for (const size of [1, 3, nl, nl + 1, 1 << 16]) {
      const out = Buffer.concat(await all(withHeader(chunked(text, size), (h) => ({ ...h, state: 'closed' })))).toString('utf8');
      const [head, ...rest] = out.split('\n');
      expect(JSON.parse(head ?? '')).toEqual({ version: 2, ...HEADER, state: 'closed' });
      expect(rest.join('\n')).toBe(text.subarray(nl + 1).toString('utf8'));
    }
    await expect(all(withHeader(chunked(Buffer.alloc(0), 1), (h) => h))).rejects.toThrow('empty recording');
  });
});
