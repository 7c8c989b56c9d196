/**
 * The schema, written once in SQLite's dialect as numbered migrations (PRAGMA user_version tracks the
 * step); postgres/schema.ts derives its dialect from the same text.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    targets TEXT NOT NULL,
    incident TEXT NOT NULL,
    template TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    break_glass INTEGER NOT NULL,
    state TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    approvals TEXT NOT NULL,
    approved_at INTEGER,
    expires_at INTEGER,
    ended_at INTEGER,
    end_reason TEXT,
    ended_by TEXT,
    review_required INTEGER NOT NULL,
    version INTEGER NOT NULL
  );
  CREATE INDEX grants_state ON grants(state);
  CREATE INDEX grants_incident ON grants(incident);
  CREATE INDEX grants_user ON grants(user_name);

  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    target TEXT NOT NULL,
    incident TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT,
    exit_code INTEGER,
    source TEXT NOT NULL,
    broker TEXT NOT NULL,
    recording TEXT
  );
  CREATE INDEX sessions_state ON sessions(state);
  CREATE INDEX sessions_grant ON sessions(grant_id);
  CREATE INDEX sessions_incident ON sessions(incident);

  CREATE TABLE recordings (
    session_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    target TEXT NOT NULL,
    incident TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    state TEXT NOT NULL,
    bytes INTEGER,
    sha256 TEXT
  );
  CREATE INDEX recordings_started ON recordings(started_at);

  CREATE TABLE commands (
    session_id TEXT NOT NULL,
    offset_s REAL NOT NULL,
    at INTEGER NOT NULL,
    command TEXT NOT NULL,
    decision TEXT NOT NULL
  );
  CREATE INDEX commands_session ON commands(session_id, at);

  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    time TEXT NOT NULL,
    type TEXT NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    broker TEXT NOT NULL,
    actor TEXT,
    user_name TEXT,
    target TEXT,
    grant_id TEXT,
    incident TEXT,
    session_id TEXT,
    source TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX events_incident ON events(incident, seq);
  CREATE INDEX events_session ON events(session_id, seq);
  CREATE INDEX events_grant ON events(grant_id, seq);

  CREATE TABLE sink_cursors (sink TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE used_once (scope TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (scope, key));
  `,
];
