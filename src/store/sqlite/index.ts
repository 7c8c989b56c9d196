/**
 * SQLite adapter (better-sqlite3). One broker, one writer: WAL mode, synchronous=NORMAL (a commit
 * survives a process crash; an OS crash may lose the last transactions, never corrupt the chain).
 * better-sqlite3 is synchronous; each call is tens of microseconds, and it is only used per grant,
 * per session and per command — never per keystroke or output chunk.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { GatehouseError } from '../../domain/errors.js';
import type { Grant, Session } from '../../domain/types.js';
import { GENESIS } from '../../events/chain.js';
import type { AuditEvent, ChainHead } from '../../events/types.js';
import type { CommandRow, CommandSummary, EventFilter, GrantFilter, RecordingFilter, RecordingRow, Sealer, SessionFilter, Store, UnitOfWork } from '../ports.js';
import * as rows from '../rows.js';
import { SQLITE_MIGRATIONS } from './schema.js';

type Row = Record<string, unknown>;

const insertSql = (table: string, cols: readonly string[], upsertKey?: string): string => {
  const base = `INSERT INTO ${table} (${cols.join(',')}) VALUES (${cols.map((c) => `@${c}`).join(',')})`;
  if (upsertKey === undefined) return base;
  const sets = cols.filter((c) => c !== upsertKey).map((c) => `${c}=excluded.${c}`);
  return `${base} ON CONFLICT(${upsertKey}) DO UPDATE SET ${sets.join(',')}`;
};

export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return new SqliteStore(db);
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private stmts: ReturnType<SqliteStore['prepare']> | undefined;

  constructor(db: Database.Database) {
    this.db = db;
  }

  async migrate(): Promise<void> {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let i = version; i < SQLITE_MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(SQLITE_MIGRATIONS[i] as string);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
    this.stmts = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      insertGrant: db.prepare(insertSql('grants', rows.GRANT_COLUMNS)),
      updateGrant: db.prepare(`UPDATE grants SET ${rows.GRANT_COLUMNS.filter((c) => c !== 'id').map((c) => `${c}=@${c}`).join(',')} WHERE id=@id AND version=@expect`),
      upsertSession: db.prepare(insertSql('sessions', rows.SESSION_COLUMNS, 'id')),
      upsertRecording: db.prepare(insertSql('recordings', rows.RECORDING_COLUMNS, 'session_id')),
      insertCommand: db.prepare(insertSql('commands', rows.COMMAND_COLUMNS)),
      insertEvent: db.prepare(insertSql('events', rows.EVENT_COLUMNS)),
      head: db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1'),
      getGrant: db.prepare('SELECT * FROM grants WHERE id = ?'),
      getSession: db.prepare('SELECT * FROM sessions WHERE id = ?'),
      getRecording: db.prepare('SELECT * FROM recordings WHERE session_id = ?'),
      listCommands: db.prepare('SELECT * FROM commands WHERE session_id = ? ORDER BY at, rowid'),
      // The session ids arrive as one JSON array: one statement for any number of them.
      countCommands: db.prepare('SELECT session_id, count(*) AS n FROM commands WHERE session_id IN (SELECT value FROM json_each(?)) GROUP BY session_id'),
      matchCommands: db.prepare('SELECT * FROM commands WHERE session_id IN (SELECT value FROM json_each(?)) AND instr(lower(command), lower(?)) > 0 ORDER BY at, rowid'),
      readEvents: db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      getCursor: db.prepare('SELECT seq FROM sink_cursors WHERE sink = ?'),
      setCursor: db.prepare('INSERT INTO sink_cursors (sink, seq, updated_at) VALUES (?, ?, ?) ON CONFLICT(sink) DO UPDATE SET seq=excluded.seq, updated_at=excluded.updated_at'),
      useOnce: db.prepare('INSERT OR IGNORE INTO used_once (scope, key, at) VALUES (?, ?, ?)'),
    };
  }

  private get s(): NonNullable<SqliteStore['stmts']> {
    if (this.stmts === undefined) throw new GatehouseError('GH_ERR_STORE', 'store used before migrate()');
    return this.stmts;
  }

  /**
   * Read inside each write transaction, never cached: another connection to the same file (a
   * second process, a CLI) may have appended since, and sealing on a stale head would fail the
   * commit or, worse, fork the chain. It is one primary-key lookup.
   */
  private readHead(): ChainHead {
    const r = this.s.head.get() as Row | undefined;
    return r === undefined ? GENESIS : { seq: Number(r.seq), hash: String(r.hash) };
  }

  async commit(work: UnitOfWork, seal: Sealer): Promise<AuditEvent[]> {
    const s = this.s;
    const run = this.db.transaction((): AuditEvent[] => {
      for (const w of work.grants ?? []) {
        const row = rows.grantToRow(w.grant);
        if (w.expectVersion === null) {
          s.insertGrant.run(row);
        } else if (s.updateGrant.run({ ...row, expect: w.expectVersion }).changes !== 1) {
          throw new GatehouseError('GH_ERR_CONFLICT', `grant ${w.grant.id} changed concurrently`);
        }
      }
      for (const x of work.sessions ?? []) s.upsertSession.run(rows.sessionToRow(x));
      for (const x of work.recordings ?? []) s.upsertRecording.run(rows.recordingToRow(x));
      for (const x of work.commands ?? []) s.insertCommand.run(rows.commandToRow(x));
      let head = this.readHead();
      const sealed: AuditEvent[] = [];
      for (const e of work.events) {
        const ev = seal(head, e);
        s.insertEvent.run(rows.eventToRow(ev));
        sealed.push(ev);
        head = ev;
      }
      return sealed;
    });
    try {
      // IMMEDIATE: take the write lock before reading the head, so no other connection appends in between.
      return run.immediate();
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      throw new GatehouseError('GH_ERR_STORE', `sqlite commit failed: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const r = this.s.getGrant.get(id) as Row | undefined;
    return r && rows.rowToGrant(r);
  }

  async listGrants(f: GrantFilter = {}): Promise<Grant[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.states?.length) {
      where.push(`state IN (${f.states.map(() => '?').join(',')})`);
      args.push(...f.states);
    }
    if (f.incident !== undefined) (where.push('incident = ?'), args.push(f.incident));
    if (f.user !== undefined) (where.push('user_name = ?'), args.push(f.user));
    const sql = `SELECT * FROM grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 1000) as Row[]).map(rows.rowToGrant);
  }

  async getSession(id: string): Promise<Session | undefined> {
    const r = this.s.getSession.get(id) as Row | undefined;
    return r && rows.rowToSession(r);
  }

  async listSessions(f: SessionFilter = {}): Promise<Session[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.live !== undefined) (where.push('state = ?'), args.push(f.live ? 'live' : 'ended'));
    for (const [col, v] of [['grant_id', f.grantId], ['incident', f.incident], ['user_name', f.user], ['target', f.target], ['broker', f.broker]] as const) {
      if (v !== undefined) (where.push(`${col} = ?`), args.push(v));
    }
    const sql = `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 1000) as Row[]).map(rows.rowToSession);
  }

  async getRecording(sessionId: string): Promise<RecordingRow | undefined> {
    const r = this.s.getRecording.get(sessionId) as Row | undefined;
    return r && rows.rowToRecording(r);
  }

  async listRecordings(f: RecordingFilter = {}): Promise<RecordingRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [col, v] of [['user_name', f.user], ['target', f.target], ['incident', f.incident]] as const) {
      if (v !== undefined) (where.push(`${col} = ?`), args.push(v));
    }
    if (f.since !== undefined) (where.push('started_at >= ?'), args.push(f.since));
    if (f.until !== undefined) (where.push('started_at < ?'), args.push(f.until));
    if (f.commandText !== undefined) {
      where.push(`session_id IN (SELECT session_id FROM commands WHERE instr(lower(command), lower(?)) > 0)`);
      args.push(f.commandText);
    }
    const sql = `SELECT * FROM recordings ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? 500) as Row[]).map(rows.rowToRecording);
  }

  async listCommands(sessionId: string): Promise<CommandRow[]> {
    return (this.s.listCommands.all(sessionId) as Row[]).map(rows.rowToCommand);
  }

  async summarizeCommands(sessionIds: readonly string[], text?: string): Promise<Map<string, CommandSummary>> {
    const ids = JSON.stringify(sessionIds);
    const counts = this.s.countCommands.all(ids) as Row[];
    const matches = text === undefined ? [] : (this.s.matchCommands.all(ids, text) as Row[]).map(rows.rowToCommand);
    return rows.commandSummaries(counts, matches);
  }

  async readEvents(afterSeq: number, limit: number, f?: EventFilter): Promise<AuditEvent[]> {
    if (f === undefined || Object.values(f).every((v) => v === undefined)) {
      return (this.s.readEvents.all(afterSeq, limit) as Row[]).map(rows.rowToEvent);
    }
    const where = ['seq > ?'];
    const args: unknown[] = [afterSeq];
    if (f.types?.length) (where.push(`type IN (${f.types.map(() => '?').join(',')})`), args.push(...f.types));
    for (const [col, v] of [['incident', f.incident], ['session_id', f.sessionId], ['grant_id', f.grantId]] as const) {
      if (v !== undefined) (where.push(`${col} = ?`), args.push(v));
    }
    const sql = `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`;
    return (this.db.prepare(sql).all(...args, limit) as Row[]).map(rows.rowToEvent);
  }

  async eventHead(): Promise<ChainHead> {
    return this.readHead();
  }

  async getCursor(sink: string): Promise<number> {
    const r = this.s.getCursor.get(sink) as Row | undefined;
    return r === undefined ? 0 : Number(r.seq);
  }

  async setCursor(sink: string, seq: number): Promise<void> {
    this.s.setCursor.run(sink, seq, Date.now());
  }

  async useOnce(scope: string, key: string, at: number): Promise<boolean> {
    return this.s.useOnce.run(scope, key, at).changes === 1;
  }

  onRemoteCommit(): () => void {
    return () => {};
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
