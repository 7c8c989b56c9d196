/**
 * The one interface behind which every outbound leg lives (Warpgate's ProtocolServer idea, reversed):
 * the gateway and the session hold a `Connector` and an `Upstream` and never learn whether the far
 * end is sshd, an SSM agent, or a PTY on this host.
 *
 * Data flow is callback-based (no per-chunk allocation beyond the chunk itself), and backpressure
 * runs both ways:
 *   - target → client: the sink's `data` returns nothing; when the client side is full the session
 *     calls `upstream.pause()` and later `upstream.resume()`.
 *   - client → target: `upstream.write()` returns false when its buffer is full; the connector then
 *     calls `sink.drain()` once it has room again.
 */
import type { Duplex } from 'node:stream';
import type { Target } from '../domain/types.js';

export interface PtySpec {
  readonly term: string;
  readonly cols: number;
  readonly rows: number;
}

export interface OpenRequest {
  readonly sessionId: string;
  readonly target: Target;
  /** A terminal, when the client asked for one. */
  readonly pty: PtySpec | undefined;
  /** The exec command line; undefined means an interactive login shell. */
  readonly command: string | undefined;
  /** A subsystem (e.g. "sftp") instead of a shell or command, where the template allows it. */
  readonly subsystem?: string;
  /** Environment passed on (only variables the broker chose to forward). */
  readonly env: Readonly<Record<string, string>>;
  /** Aborted when the session is ended before or during connect. */
  readonly signal: AbortSignal;
}

export interface ExitStatus {
  /** Exit code, when the program exited. */
  readonly code: number | null;
  /** Signal name without "SIG" (e.g. "INT"), when it was killed by one. */
  readonly signal: string | null;
}

/** What the connector calls back into; implemented by the session. */
export interface UpstreamSink {
  /** Output from the target: stdout, or the whole terminal stream for a PTY. */
  data(chunk: Buffer): void;
  /** Standard error, for exec without a PTY. */
  stderr(chunk: Buffer): void;
  /** Room again after `write` returned false. */
  drain(): void;
  /** The remote program ended. May come before `closed`. */
  exit(status: ExitStatus): void;
  /** The upstream leg is gone; `error` when it failed rather than ended. Called exactly once. */
  closed(error?: Error): void;
}

export interface Upstream {
  /** Keystrokes or stdin. Returns false when the caller should wait for `sink.drain()`. */
  write(chunk: Buffer): boolean;
  /** End of stdin (EOF). */
  endInput(): void;
  resize(cols: number, rows: number): void;
  /** Deliver a signal to the remote program ("INT", "TERM", ...), where the transport can. */
  signal(name: string): void;
  /** Stop reading from the target until `resume()` (backpressure toward the client). */
  pause(): void;
  resume(): void;
  /**
   * End the upstream side now (kill, expiry, shutdown). Idempotent. Resolves when the transport is
   * closed, or after a short bound; for SSM it also calls TerminateSession.
   */
  close(reason: string): Promise<void>;
}

/**
 * One authenticated upstream connection that opens TCP streams from the target to a destination
 * (local port forwarding, RFC 4254 §7.2). The gateway decides which destinations are allowed;
 * the tunnel only carries them.
 */
export interface Tunnel {
  /** A byte stream to `host:port` as the target resolves it. Rejects with GH_ERR_UPSTREAM_CONNECT. */
  forward(host: string, port: number): Promise<Duplex>;
  /** False once the connection is gone (a new tunnel must be opened). */
  readonly usable: boolean;
  /** Closes the connection and every stream on it. Idempotent. */
  close(): void;
}

export interface Connector {
  readonly kind: Target['kind'];
  /**
   * Connect and start the program. Rejects with a GatehouseError (GH_ERR_UPSTREAM_CONNECT,
   * GH_ERR_HOST_KEY_MISMATCH, GH_ERR_UPSTREAM_AUTH, GH_ERR_SSM, GH_ERR_INVENTORY) on failure.
   */
  open(request: OpenRequest, sink: UpstreamSink): Promise<Upstream>;
  /**
   * Connect for port forwarding, with the same checks as `open` (pinned host key, the target's
   * key). Only connectors that can open a TCP stream from the target implement it (ssh).
   */
  tunnel?(target: Target, signal: AbortSignal): Promise<Tunnel>;
}
