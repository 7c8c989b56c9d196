/**
 * PostgreSQL adapter (pg). Several brokers share one database:
 *   - the audit chain is serialised by a row lock on `chain_head` inside each commit, so sequence
 *     numbers and hash links are total and gap-free whichever broker writes;
 *   - grants use optimistic versions, like SQLite;
 *   - each commit that appends events NOTIFYs `gatehouse_events`; every broker LISTENs and feeds
 *     the new events to its watchdog (a revoke on one broker ends the session held by another).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { GatehouseError } from '../../domain/errors.js';
import type { Grant, Session } from '../../domain/types.js';
import type { AuditEvent, ChainHead } from '../../events/types.js';
import type { CommandRow, CommandSummary, EventFilter, GrantFilter, RecordingFilter, RecordingRow, Sealer, SessionFilter, Store, UnitOfWork } from '../ports.js';
import * as rows from '../rows.js';
import { PG_MIGRATIONS } from './schema.js';

type Row = Record<string, unknown>;
const CHANNEL = 'gatehouse_events';
const MIGRATION_LOCK = 7_331_001;

function insert(table: string, row: Row, conflict?: string): { text: string; values: unknown[] } {
  const cols = Object.keys(row);
  const values = cols.map((c) => row[c]);
  let text = `INSERT INTO ${table} (${cols.join(',')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(',')})`;
  if (conflict !== undefined) text += ` ON CONFLICT (${conflict}) DO UPDATE SET ${cols.filter((c) => c !== conflict).map((c) => `${c}=EXCLUDED.${c}`).join(',')}`;
  return { text, values };
}

class Where {
  readonly parts: string[] = [];
  readonly values: unknown[] = [];
  add(sql: (p: string) => string, value: unknown): void {
    this.values.push(value);
    this.parts.push(sql(`$${this.values.length}`));
  }
  eq(col: string, value: unknown): void {
    if (value !== undefined) this.add((p) => `${col} = ${p}`, value);
  }
  sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
  limit(n: number): string {
    this.values.push(n);
    return `LIMIT $${this.values.length}`;
  }
}

export function openPostgresStore(url: string, log: Logger): Store {
  return new PostgresStore(url, log);
}

class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private listener: pg.Client | null = null;
  private readonly handlers = new Set<(head: number) => void>();
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
    this.pool.on('error', (err) => log.error({ err: err.message }, 'postgres pool error'));
  }

  async migrate(): Promise<void> {
    const c = await this.pool.connect();
    c.on('error', () => {});
    try {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      for (const m of PG_MIGRATIONS) await c.query(m);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      c.release();
    }
    // Once per store: a second LISTEN connection would deliver every notification twice and leak.
    if (this.listener === null) await this.listen();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      const head = Number(msg.payload);
      for (const h of this.handlers) h(head);
    });
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'postgres LISTEN connection lost; reconnecting');
      this.listener = null;
      setTimeout(() => void this.listen().catch(() => {}), 500).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    // Anything committed while we were not listening: let subscribers catch up.
    for (const h of this.handlers) h(-1);
  }

  async commit(work: UnitOfWork, seal: Sealer): Promise<AuditEvent[]> {
    const c = await this.pool.connect().catch((err: Error) => {
      throw new GatehouseError('GH_ERR_STORE', `postgres unreachable: ${err.message}`);
    });
    // pg-pool only watches idle clients; a checked-out one that loses its socket would otherwise
    // emit an unhandled 'error' and take the process down. The failing query rejects anyway.
    const onError = (err: Error): void => this.log.warn({ err: err.message }, 'postgres connection lost during a commit');
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      for (const w of work.grants ?? []) {
        const row = rows.grantToRow(w.grant);
        if (w.expectVersion === null) {
          const q = insert('grants', row);
          await c.query(q.text, q.values);
        } else {
          const cols = rows.GRANT_COLUMNS.filter((x) => x !== 'id');
          const res = await c.query(`UPDATE grants SET ${cols.map((x, i) => `${x}=$${i + 1}`).join(',')} WHERE id=$${cols.length + 1} AND version=$${cols.length + 2}`, [
            ...cols.map((x) => row[x]),
            w.grant.id,
            w.expectVersion,
          ]);
          if (res.rowCount !== 1) throw new GatehouseError('GH_ERR_CONFLICT', `grant ${w.grant.id} changed concurrently`);
        }
      }
      for (const s of work.sessions ?? []) await c.query(insert('sessions', rows.sessionToRow(s), 'id'));
      for (const r of work.recordings ?? []) await c.query(insert('recordings', rows.recordingToRow(r), 'session_id'));
      for (const x of work.commands ?? []) await c.query(insert('commands', rows.commandToRow(x)));
      const sealed: AuditEvent[] = [];
      if (work.events.length > 0) {
        const h = (await c.query('SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE')).rows[0] as Row;
        let head: ChainHead = { seq: Number(h.seq), hash: String(h.hash) };
        for (const e of work.events) {
          const ev = seal(head, e);
          const q = insert('events', rows.eventToRow(ev));
          await c.query(q.text, q.values);
          sealed.push(ev);
          head = ev;
        }
        await c.query('UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1', [head.seq, head.hash]);
        await c.query('SELECT pg_notify($1, $2)', [CHANNEL, String(head.seq)]);
      }
      await c.query('COMMIT');
      return sealed;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      if (err instanceof GatehouseError) throw err;
      throw new GatehouseError('GH_ERR_STORE', `postgres commit failed: ${(err as Error).message}`, undefined, { cause: err });
    } finally {
      c.off('error', onError);
      c.release();
    }
  }

  private async q(text: string, values: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.pool.query(text, values)).rows as Row[];
    } catch (err) {
      throw new GatehouseError('GH_ERR_STORE', `postgres query failed: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const r = (await this.q('SELECT * FROM grants WHERE id = $1', [id]))[0];
    return r && rows.rowToGrant(r);
  }

  async listGrants(f: GrantFilter = {}): Promise<Grant[]> {
    const w = new Where();
    if (f.states?.length) w.add((p) => `state = ANY(${p})`, [...f.states]);
    w.eq('incident', f.incident);
    w.eq('user_name', f.user);
    const where = w.sql();
    return (await this.q(`SELECT * FROM grants ${where} ORDER BY requested_at DESC, id ${w.limit(f.limit ?? 1000)}`, w.values)).map(rows.rowToGrant);
  }

  async getSession(id: string): Promise<Session | undefined> {
    const r = (await this.q('SELECT * FROM sessions WHERE id = $1', [id]))[0];
    return r && rows.rowToSession(r);
  }

  async listSessions(f: SessionFilter = {}): Promise<Session[]> {
    const w = new Where();
    if (f.live !== undefined) w.eq('state', f.live ? 'live' : 'ended');
    w.eq('grant_id', f.grantId);
    w.eq('incident', f.incident);
    w.eq('user_name', f.user);
    w.eq('target', f.target);
    w.eq('broker', f.broker);
    const where = w.sql();
    return (await this.q(`SELECT * FROM sessions ${where} ORDER BY started_at DESC, id ${w.limit(f.limit ?? 1000)}`, w.values)).map(rows.rowToSession);
  }

  async getRecording(sessionId: string): Promise<RecordingRow | undefined> {
    const r = (await this.q('SELECT * FROM recordings WHERE session_id = $1', [sessionId]))[0];
    return r && rows.rowToRecording(r);
  }

  async listRecordings(f: RecordingFilter = {}): Promise<RecordingRow[]> {
    const w = new Where();
    w.eq('user_name', f.user);
    w.eq('target', f.target);
    w.eq('incident', f.incident);
    if (f.since !== undefined) w.add((p) => `started_at >= ${p}`, f.since);
    if (f.until !== undefined) w.add((p) => `started_at < ${p}`, f.until);
    if (f.commandText !== undefined) w.add((p) => `session_id IN (SELECT session_id FROM commands WHERE strpos(lower(command), lower(${p})) > 0)`, f.commandText);
    const where = w.sql();
    return (await this.q(`SELECT * FROM recordings ${where} ORDER BY started_at DESC ${w.limit(f.limit ?? 500)}`, w.values)).map(rows.rowToRecording);
  }

  async listCommands(sessionId: string): Promise<CommandRow[]> {
    return (await this.q('SELECT * FROM commands WHERE session_id = $1 ORDER BY at', [sessionId])).map(rows.rowToCommand);
  }

  async summarizeCommands(sessionIds: readonly string[], text?: string): Promise<Map<string, CommandSummary>> {
    const ids = [...sessionIds];
    const counts = await this.q('SELECT session_id, count(*) AS n FROM commands WHERE session_id = ANY($1) GROUP BY session_id', [ids]);
    const matches = text === undefined ? [] : (await this.q('SELECT * FROM commands WHERE session_id = ANY($1) AND strpos(lower(command), lower($2)) > 0 ORDER BY at', [ids, text])).map(rows.rowToCommand);
    return rows.commandSummaries(counts, matches);
  }

  async readEvents(afterSeq: number, limit: number, f?: EventFilter): Promise<AuditEvent[]> {
    const w = new Where();
    w.add((p) => `seq > ${p}`, afterSeq);
    if (f?.types?.length) w.add((p) => `type = ANY(${p})`, [...f.types]);
    w.eq('incident', f?.incident);
    w.eq('session_id', f?.sessionId);
    w.eq('grant_id', f?.grantId);
    const where = w.sql();
    return (await this.q(`SELECT * FROM events ${where} ORDER BY seq ${w.limit(limit)}`, w.values)).map(rows.rowToEvent);
  }

  async eventHead(): Promise<ChainHead> {
    const r = (await this.q('SELECT seq, hash FROM chain_head WHERE id = 1'))[0] as Row;
    return { seq: Number(r.seq), hash: String(r.hash) };
  }

  async getCursor(sink: string): Promise<number> {
    const r = (await this.q('SELECT seq FROM sink_cursors WHERE sink = $1', [sink]))[0];
    return r === undefined ? 0 : Number(r.seq);
  }

  async setCursor(sink: string, seq: number): Promise<void> {
    await this.q('INSERT INTO sink_cursors (sink, seq, updated_at) VALUES ($1, $2, $3) ON CONFLICT (sink) DO UPDATE SET seq = EXCLUDED.seq, updated_at = EXCLUDED.updated_at', [sink, seq, Date.now()]);
  }

  async useOnce(scope: string, key: string, at: number): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO used_once (scope, key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [scope, key, at]);
    return r.rowCount === 1;
  }

  onRemoteCommit(handler: (head: number) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async ping(): Promise<void> {
    await this.q('SELECT 1');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    await this.listener?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
