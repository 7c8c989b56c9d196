/**
 * The store conformance suite on the real PostgreSQL (127.0.0.1:5432, database `test`, trust
 * auth; GATEHOUSE_TEST_PG overrides), each test in a fresh schema selected through the URL's
 * search_path, dropped afterwards. Plus LISTEN/NOTIFY between two store instances.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../src/events/chain.js';
import type { Store } from '../../src/store/ports.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { until } from '../fixtures/scope.js';
import { event } from './builders.js';
import { runStoreConformance } from './conformance.js';

const BASE = process.env.GATEHOUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = pino({ level: 'silent' });

const admin = new pg.Client({ connectionString: BASE });
const created = new Set<string>();

beforeAll(async () => {
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${BASE} (set GATEHOUSE_TEST_PG): ${(err as Error).message}`);
  }
});

afterAll(async () => {
  for (const schema of created) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** A new empty schema; the URL that makes it the connection's search_path. */
async function freshSchema(): Promise<{ schema: string; url: string }> {
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  created.add(schema);
  return { schema, url: `${BASE}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
}

async function dropSchema(schema: string): Promise<void> {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  created.delete(schema);
}

let current: { schema: string; url: string } | undefined;

runStoreConformance(
  'postgres',
  async () => {
    current ??= await freshSchema();
    return openPostgresStore(current.url, log);
  },
  async () => {
    if (current !== undefined) await dropSchema(current.schema);
    current = undefined;
  },
);

describe('postgres specifics', () => {
  const stores: Store[] = [];
  let schema: { schema: string; url: string };
  async function open(): Promise<Store> {
    const s = openPostgresStore(schema.url, log);
    stores.push(s);
    await s.migrate();
    return s;
  }
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await dropSchema(schema.schema);
  });

  it('honours the search_path in the URL: tables land in the test schema only', async () => {
    schema = await freshSchema();
    const s = await open();
    await s.commit({ events: [event()] }, seal);
    const tables = await admin.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema.schema]);
    expect(tables.rows.map((r) => r.table_name)).toEqual(['chain_head', 'commands', 'events', 'grants', 'leases', 'recordings', 'sessions', 'sink_cursors', 'used_once']);
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema.schema}.events`)).rows[0]).toEqual({ n: 1 });
  });

  it('onRemoteCommit: store B hears store A’s commit within 1 s, with A’s head', async () => {
    schema = await freshSchema();
    const a = await open();
    const b = await open();
    const heard: number[] = [];
    const off = b.onRemoteCommit((head) => heard.push(head));
    await a.commit({ events: [event(), event(), event()] }, seal);
    // An unusual head, so a notification from another test's schema (the channel is per database) cannot pass for it.
    const last = await a.commit({ events: Array.from({ length: 58 }, () => event()) }, seal);
    expect(last.at(-1)?.seq).toBe(61);
    const started = Date.now();
    await until(() => heard.includes(61), 1_000, 'B to hear seq 61');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(heard).toContain(3);
    off();
    const before = heard.length;
    await a.commit({ events: [event()] }, seal);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toHaveLength(before);
  });

  it('keeps one LISTEN connection per store, however often it migrates, and none after close', async () => {
    schema = await freshSchema();
    const app = `gh_listen_${randomBytes(4).toString('hex')}`;
    const s = openPostgresStore(`${schema.url}&application_name=${app}`, log);
    stores.push(s);
    const listeners = async (): Promise<number> =>
      (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'", [app])).rows[0]?.n ?? -1;
    await s.migrate();
    await s.migrate();
    await s.migrate();
    expect(await listeners()).toBe(1);
    await s.close();
    await until(async () => (await listeners()) === 0, 2_000, 'the LISTEN connection to close');
  });
});
