/**
 * A closed recording's file: its hash and size, and compression in place.
 *
 * Compresses a closed recording in place: `<file>` → `<file>.gz`, written to a temporary name,
 * synced and renamed, then the original removed. A crash at any point leaves a readable recording
 * (the original, or both); readers accept either name (reader.ts `resolveRecording`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export async function gzipFile(path: string): Promise<string> {
  const tmp = `${path}.gz.tmp`;
  try {
    await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(tmp, { flags: 'w', mode: 0o640 }));
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, `${path}.gz`);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await unlink(path);
  return `${path}.gz`;
}

/** SHA-256 and size of a file, streamed (recordings can be tens of MB). */
export function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    createReadStream(path)
      .on('data', (b) => {
        const buf = b as Buffer;
        bytes += buf.length;
        h.update(buf);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: h.digest('hex'), bytes }));
  });
}
