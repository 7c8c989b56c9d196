#!/usr/bin/env node
// Writes docs/events.md and docs/errors.md from the compiled code (dist/, built by `npm run docs`).
// With --check, writes nothing and exits 1 when a committed file differs from what the code renders.
import { readFile, writeFile } from 'node:fs/promises';

const root = new URL('../', import.meta.url);
const { renderEventCatalogue, renderErrorCodes } = await import(new URL('dist/events/docs.js', root).href);
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, text] of [
  ['docs/events.md', renderEventCatalogue()],
  ['docs/errors.md', renderErrorCodes()],
]) {
  const url = new URL(file, root);
  const current = await readFile(url, 'utf8').catch(() => null);
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${file} is out of date: run npm run docs\n`);
    stale++;
  } else {
    await writeFile(url, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
