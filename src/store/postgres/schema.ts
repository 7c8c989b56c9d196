/** PostgreSQL schema: the SQLite columns with Postgres types, plus the chain head row and leases. */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    targets TEXT NOT NULL,
    incident TEXT NOT NULL,
    template TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    break_glass BIGINT NOT NULL,
    state TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    approvals TEXT NOT NULL,
    approved_at BIGINT,
    expires_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT,
    ended_by TEXT,
    review_required BIGINT NOT NULL,
    version BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS grants_state ON grants(state);
  CREATE INDEX IF NOT EXISTS grants_incident ON grants(incident);
  CREATE INDEX IF NOT EXISTS grants_user ON grants(user_name);

  CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    target TEXT NOT NULL,
    incident TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT,
    exit_code BIGINT,
    source TEXT NOT NULL,
    broker TEXT NOT NULL,
    recording TEXT
  );
  CREATE INDEX IF NOT EXISTS sessions_state ON sessions(state);
  CREATE INDEX IF NOT EXISTS sessions_grant ON sessions(grant_id);
  CREATE INDEX IF NOT EXISTS sessions_incident ON sessions(incident);

  CREATE TABLE IF NOT EXISTS recordings (
    session_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    target TEXT NOT NULL,
    incident TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    state TEXT NOT NULL,
    bytes BIGINT,
    sha256 TEXT
  );
  CREATE INDEX IF NOT EXISTS recordings_started ON recordings(started_at);

  CREATE TABLE IF NOT EXISTS commands (
    session_id TEXT NOT NULL,
    offset_s DOUBLE PRECISION NOT NULL,
    at BIGINT NOT NULL,
    command TEXT NOT NULL,
    decision TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS commands_session ON commands(session_id, at);

  CREATE TABLE IF NOT EXISTS events (
    seq BIGINT PRIMARY KEY,
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
  CREATE INDEX IF NOT EXISTS events_incident ON events(incident, seq);
  CREATE INDEX IF NOT EXISTS events_session ON events(session_id, seq);
  CREATE INDEX IF NOT EXISTS events_grant ON events(grant_id, seq);

  CREATE TABLE IF NOT EXISTS sink_cursors (sink TEXT PRIMARY KEY, seq BIGINT NOT NULL, updated_at BIGINT NOT NULL);
  CREATE TABLE IF NOT EXISTS used_once (scope TEXT NOT NULL, key TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (scope, key));
  
  CREATE TABLE IF NOT EXISTS chain_head (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL);
  INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000') ON CONFLICT (id) DO NOTHING;
  CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms BIGINT NOT NULL);
  `,
];
