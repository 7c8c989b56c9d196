/**
 * Recording files (src/recording): writer ↔ reader round trip with redaction, input privacy and
 * gzip; truncated-file recovery (a broker killed mid-write); resolving .cast ↔ .cast.gz; the live
 * handoff (the file prefix plus the writer's state reproduce what was recorded).
 */
import { createHash } from 'node:crypto';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { describe, expect, it } from 'vitest';
import { parseCast, readCast, readCastPrefix, resolveRecording, type CastEvent } from '../../../src/recording/reader.js';
import { CastWriter, type CastHeader, type CastWriterOptions } from '../../../src/recording/writer.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();
const HEADER: CastHeader = { width: 80, height: 24, timestamp: 1_767_258_000, session_id: 's-x', grant_id: 'g-x', incident: 'INC-1', user: 'alice', target: 'web-1', broker: 'b1', kind: 'shell' };
const out = (events: readonly CastEvent[]): string => events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
const inp = (events: readonly CastEvent[]): string => events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');

async function open(opts: Partial<CastWriterOptions> = {}): Promise<{ w: CastWriter; path: string; dir: string }> {
  const dir = await scope.tempDir();
  const path = join(dir, '2026', '11', '25', 's-x.cast');
  const w = await CastWriter.open(path, HEADER, { maxOutputBytes: 1 << 20, onError: () => {}, ...opts });
  return { w, path, dir };
}

describe('writer and reader', () => {
  it('round-trips with secrets redacted in output and input, times non-decreasing', async () => {
    const { w, path } = await open();
    w.output(Buffer.from('$ '));
    w.input(Buffer.from('export TOKEN=abc123\r'));
    w.output(Buffer.from('export TOKEN=abc123\r\n$ cat ~/.aws/credentials\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\r\n'));
    w.resize(120, 40);
    w.marker('allow: cat ~/.aws/credentials');
    await w.close();
    const cast = await readCast(path);
    expect(cast.header).toEqual({ version: 2, ...HEADER });
    expect(out(cast.events)).toBe('$ export TOKEN=******\r\n$ cat ~/.aws/credentials\r\naws_access_key_id = AKIA****************\r\n');
    expect(inp(cast.events)).toBe('export TOKEN=******\r');
    expect(cast.events.filter((e) => e[1] !== 'o' && e[1] !== 'i').map((e) => [e[1], e[2]])).toEqual([
      ['r', '120x40'],
      ['m', 'allow: cat ~/.aws/credentials'],
    ]);
    const times = cast.events.map((e) => e[0]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('records nothing typed at a password prompt, up to the Enter that answers it', async () => {
    const { w, path } = await open();
    w.output(Buffer.from('$ '));
    w.input(Buffer.from('sudo -v\r'));
    w.output(Buffer.from('sudo -v\r\n[sudo] password for alice: '));
    for (const c of 'correct horse') w.input(Buffer.from(c));
    w.input(Buffer.from('\rls\r'));
    w.output(Buffer.from('\r\n$ ls\r\nfile\r\n$ Enter passphrase for key \'/home/a/.ssh/id\': '));
    w.input(Buffer.from('battery staple\n'));
    await w.close();
    const typed = inp((await readCast(path)).events);
    expect(typed).toBe('sudo -v\rls\r');
    expect(typed).not.toContain('horse');
  });

  it('records no keystrokes with input: false, and no redaction with redact: false', async () => {
    const { w, path } = await open({ input: false, redact: false });
    w.input(Buffer.from('ls\r'));
    w.output(Buffer.from('password=hunter2\r\n'));
    await w.close();
    const cast = await readCast(path);
    expect(inp(cast.events)).toBe('');
    expect(out(cast.events)).toBe('password=hunter2\r\n');
  });

  it('gzips on close: .cast.gz replaces .cast, the summary hashes the .gz, every reader reads it', async () => {
    const { w, path, dir } = await open({ gzip: true });
    for (let i = 0; i < 100; i++) w.output(Buffer.from(`line ${i}\r\n`));
    const summary = await w.close();
    expect(w.isGzipped).toBe(true);
    expect(w.file).toBe(`${path}.gz`);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    const gz = await readFile(`${path}.gz`);
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(summary.sha256).toBe(createHash('sha256').update(gz).digest('hex'));
    expect(summary.bytes).toBe(gz.length);
    // The index may name either form: both resolve to the file that exists.
    expect(await resolveRecording(dir, '2026/11/25/s-x.cast')).toBe(`${path}.gz`);
    expect(await resolveRecording(dir, '2026/11/25/s-x.cast.gz')).toBe(`${path}.gz`);
    expect(out((await readCast(`${path}.gz`)).events)).toContain('line 99\r\n');
  });

  it('refuses index paths outside the recordings directory', async () => {
    const dir = await scope.tempDir();
    await expect(resolveRecording(dir, '../../etc/passwd')).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_NOT_FOUND' });
    await expect(resolveRecording(dir, '/etc/passwd')).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_NOT_FOUND' });
  });
});

describe('truncated-file recovery', () => {
  it('a file cut at any byte (a broker killed mid-write) reads up to its last whole event', async () => {
    const { w, path } = await open();
    for (let i = 0; i < 20; i++) w.output(Buffer.from(`out ${i} ✓\r\n`));
    await w.close();
    const full = await readFile(path);
    const whole = parseCast(full.toString('utf8')).events;
    const headerEnd = full.indexOf(0x0a) + 1;
    for (let cut = headerEnd; cut <= full.length; cut += 3) {
      await writeFile(path, full.subarray(0, cut));
      const cast = await readCast(path);
      expect(cast.events).toEqual(whole.slice(0, cast.events.length));
      // Every event whose line is complete is there; at most the one cut through is lost.
      const complete = full.subarray(headerEnd, cut).filter((b) => b === 0x0a).length;
      expect(cast.events.length === complete || cast.events.length === complete + 1).toBe(true);
    }
  });

  it('a file the writer never closed is readable while it grows, also cut inside its last line', async () => {
    const { w, path } = await open();
    w.output(Buffer.from('first\r\n'));
    w.marker('between');
    w.output(Buffer.from('second line\r\n'));
    const h = w.liveHandoff();
    expect(out((await readCast(path)).events)).toBe('first\r\nsecond line\r\n');
    // A broker killed mid-write: the last line is cut half-way.
    const text = await readFile(path);
    const lastLine = text.lastIndexOf(0x0a, text.length - 2) + 1;
    await truncate(path, lastLine + Math.floor((text.length - lastLine) / 2));
    expect((await stat(path)).size).toBeLessThan(h.bytes);
    const cut = await readCast(path);
    expect(cut.torn).toBe(true);
    expect(out(cut.events)).toBe('first\r\n');
    expect(cut.events.at(-1)?.[1]).toBe('m');
    await w.close();
  });
});

describe('live handoff', () => {
  const follow = async (first: Buffer[], later: Buffer[], check: (h: ReturnType<CastWriter['liveHandoff']>) => void): Promise<{ joined: string; recorded: string }> => {
    const { w, path } = await open();
    for (const b of first) w.output(b);
    const h = w.liveHandoff();
    check(h);
    for (const b of later) w.output(b);
    const prefix = await readCastPrefix(path, h.bytes);
    const dec = new StringDecoder('utf8');
    dec.write(h.partial);
    let live = '';
    for (const b of later) for (const p of h.redactor?.push(dec.write(b), 0) ?? []) live += p.text;
    await w.close();
    return { joined: out(prefix.events) + live, recorded: out((await readCast(path)).events) };
  };

  it('continues a secret the redactor holds: prefix + live output equals the recording', async () => {
    const r = await follow([Buffer.from('hello\r\nkey AKIAIOSF')], [Buffer.from('ODNN7EXAMPLE done\r\n')], (h) => expect(h.redactor?.pending).toBe(8));
    expect(r.joined).toBe('hello\r\nkey AKIA**************** done\r\n');
    expect(r.joined).toBe(r.recorded);
  });

  it('continues a character split across the handoff', async () => {
    const euro = Buffer.from('€');
    const r = await follow([Buffer.from('price: '), euro.subarray(0, 2)], [euro.subarray(2), Buffer.from('5\r\n')], (h) => expect(h.partial).toEqual(euro.subarray(0, 2)));
    expect(r.joined).toBe('price: €5\r\n');
    expect(r.joined).toBe(r.recorded);
  });

  it('reads only the header and the tail of a long recording', async () => {
    const { w, path } = await open();
    for (let i = 0; i < 2000; i++) w.output(Buffer.from(`line ${i}\r\n`));
    const h = w.liveHandoff();
    const cast = await readCastPrefix(path, h.bytes, 10_000, 2_000);
    expect(cast.header.width).toBe(80);
    expect(out(cast.events)).toMatch(/line 1999\r\n$/);
    expect(out(cast.events)).not.toContain('line 1000\r\n');
    await w.close();
  });
});
