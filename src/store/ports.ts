/**
 * The store's port: what the services need, nothing about SQL. Two adapters implement it,
 * sqlite/ (one broker) and postgres/ (several brokers), and test/store/conformance.ts runs the same
 * suite against both (Teleport lib/backend/test/suite.go).
 *
 * Writes go through `commit`, one unit of work: the state change and the events that describe it
 * land in one transaction, so the event log (which is also the SIEM outbox and the audit chain)
 * can never disagree with the state.
 */
import type { AuditEvent, ChainHead, UnsealedEvent } from '../events/types.js';
import type { Grant, GrantState, Session } from '../domain/types.js';

export type RecordingState = 'live' | 'closed' | 'interrupted';

export interface RecordingRow {
  readonly sessionId: string;
  readonly path: string;
  readonly grantId: string;
  readonly user: string;
  readonly target: string;
  readonly incident: string;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly state: RecordingState;
  readonly bytes: number | null;
  readonly sha256: string | null;
}

export interface CommandRow {
  readonly sessionId: string;
  /** Seconds since the recording started, for seeking. */
  readonly offset: number;
  readonly at: number;
  readonly command: string;
  readonly decision: 'allow' | 'deny' | 'review';
}

/** One session's commands, as the sessions page lists them. */
export interface CommandSummary {
  readonly count: number;
  /** The commands containing the searched text (any case), in order; empty without a search. */
  readonly matches: readonly CommandRow[];
}

export interface GrantWrite {
  readonly grant: Grant;
  /** The version read before the change; null inserts. A mismatch throws GH_ERR_CONFLICT. */
  readonly expectVersion: number | null;
}

export interface UnitOfWork {
  readonly grants?: readonly GrantWrite[];
  readonly sessions?: readonly Session[];
  readonly recordings?: readonly RecordingRow[];
  readonly commands?: readonly CommandRow[];
  readonly events: readonly UnsealedEvent[];
}

/** Gives an unsealed event its place in the chain (events/chain.ts `seal`). */
export type Sealer = (prev: ChainHead, event: UnsealedEvent) => AuditEvent;

export interface GrantFilter {
  readonly states?: readonly GrantState[];
  readonly incident?: string;
  readonly user?: string;
  readonly limit?: number;
}

export interface SessionFilter {
  readonly live?: boolean;
  readonly grantId?: string;
  readonly incident?: string;
  readonly user?: string;
  readonly target?: string;
  readonly broker?: string;
  readonly limit?: number;
}

export interface RecordingFilter {
  readonly user?: string;
  readonly target?: string;
  readonly incident?: string;
  /** Epoch ms bounds on startedAt. */
  readonly since?: number;
  readonly until?: number;
  /** Sessions in which a command containing this text was judged. */
  readonly commandText?: string;
  readonly limit?: number;
}

export interface EventFilter {
  readonly types?: readonly string[];
  readonly incident?: string;
  readonly sessionId?: string;
  readonly grantId?: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema. Idempotent. */
  migrate(): Promise<void>;
  commit(work: UnitOfWork, seal: Sealer): Promise<AuditEvent[]>;

  getGrant(id: string): Promise<Grant | undefined>;
  listGrants(filter?: GrantFilter): Promise<Grant[]>;
  getSession(id: string): Promise<Session | undefined>;
  listSessions(filter?: SessionFilter): Promise<Session[]>;
  getRecording(sessionId: string): Promise<RecordingRow | undefined>;
  listRecordings(filter?: RecordingFilter): Promise<RecordingRow[]>;
  listCommands(sessionId: string): Promise<CommandRow[]>;
  /**
   * For each of `sessionIds` that has commands: how many, and those containing `text`. A fixed
   * number of queries however many sessions (the sessions page asks every second, per tab).
   */
  summarizeCommands(sessionIds: readonly string[], text?: string): Promise<Map<string, CommandSummary>>;

  /** Events with seq > afterSeq, ascending, at most `limit`. */
  readEvents(afterSeq: number, limit: number, filter?: EventFilter): Promise<AuditEvent[]>;
  eventHead(): Promise<ChainHead>;

  /** A sink's delivery cursor (last seq delivered); 0 when new. */
  getCursor(sink: string): Promise<number>;
  setCursor(sink: string, seq: number): Promise<void>;

  /**
   * Records a one-time value (a TOTP time step, an approval nonce). Returns false when it was
   * already used: the caller refuses the replay.
   */
  useOnce(scope: string, key: string, at: number): Promise<boolean>;

  /**
   * Called after another broker commits events (Postgres LISTEN/NOTIFY). SQLite has one writer,
   * so its adapter never calls back. Returns an unsubscribe function.
   */
  onRemoteCommit(handler: (head: number) => void): () => void;

  /** Cheap liveness check used by the fail-closed watchdog. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
