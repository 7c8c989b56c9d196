/** The store conformance suite on SQLite: a temp file per test, several connections to it. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { runStoreConformance } from './conformance.js';

let root: string | undefined;
let dir: string | undefined;

runStoreConformance(
  'sqlite',
  async () => {
    root ??= await mkdtemp(join(tmpdir(), 'gh-store-'));
    dir ??= await mkdtemp(join(root, 't-'));
    return openSqliteStore(join(dir, 'nested', 'gatehouse.db'));
  },
  async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  },
);

it('sqlite: a store used before migrate() refuses with GH_ERR_STORE', async () => {
  const s = openSqliteStore(':memory:');
  try {
    await expect(s.getGrant('g-1')).rejects.toMatchObject({ code: 'GH_ERR_STORE', message: 'store used before migrate()' });
  } finally {
    await s.close();
  }
});

afterAll(async () => {
  if (root === undefined) return;
  expect(await readdir(root)).toEqual([]); // every test's database was discarded
  await rm(root, { recursive: true, force: true });
});
