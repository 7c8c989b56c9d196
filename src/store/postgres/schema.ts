/**
 * PostgreSQL schema: the SQLite migrations translated (INTEGER → BIGINT, REAL → DOUBLE PRECISION,
 * IF NOT EXISTS everywhere so several brokers can race to migrate), plus what only several brokers
 * need: the chain head row that serialises appends, and leases.
 */
import { SQLITE_MIGRATIONS } from '../sqlite/schema.js';

const GENESIS_HASH = '0'.repeat(64);

export function toPostgres(sql: string): string {
  return sql
    .replace(/INTEGER PRIMARY KEY/g, 'BIGINT PRIMARY KEY')
    .replace(/ INTEGER/g, ' BIGINT')
    .replace(/ REAL/g, ' DOUBLE PRECISION')
    .replace(/CREATE TABLE /g, 'CREATE TABLE IF NOT EXISTS ')
    .replace(/CREATE INDEX /g, 'CREATE INDEX IF NOT EXISTS ');
}

export const PG_MIGRATIONS: readonly string[] = [
  ...SQLITE_MIGRATIONS.map(toPostgres),
  `
  CREATE TABLE IF NOT EXISTS chain_head (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL);
  INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '${GENESIS_HASH}') ON CONFLICT (id) DO NOTHING;
  CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms BIGINT NOT NULL);
  `,
];
