/**
 * The live view of sessions held by this broker: watchers (the web UI's WebSocket, `gatehouse
 * sessions watch` over gRPC) see the session from its current screen, then every chunk as it is
 * relayed, redacted like the recording.
 *
 * One feed per watched session, created by its first watcher and gone with its last:
 *
 *   1. Handoff, synchronously between two chunks: the recording writer says how many bytes of the
 *      file hold everything recorded so far, and in the same tick the feed starts following what
 *      the writer records from then on (output already redacted: one decode and one redaction
 *      pass serve the recording and every watcher). Nothing is missed, nothing is seen twice.
 *      Where the recording does not follow the output (no recording in best-effort mode, or
 *      output past the cap or binary), the feed takes the relay's raw output taps and redacts
 *      them itself.
 *   2. The file up to that point (its last 1 MiB for long sessions) is fed into a headless
 *      terminal (@xterm/headless); live output follows it into the same terminal.
 *   3. A watcher gets the terminal serialized (@xterm/addon-serialize) at a write barrier, then the
 *      live output queued after that barrier: snapshot and stream join without gap or duplicate.
 *
 * Watchers never slow the session: the feed only hands text on; each watcher's
 * transport has its own bound (HIGH_WATER). A watcher past it stops receiving output; once its
 * transport drains it gets a fresh snapshot (a resync). One that has not drained within
 * STALL_MS is dropped. The headless terminal is bounded too: in a flood of output (a 250 MB
 * `cat`) it stops being fed, and is rebuilt from the last TAIL chars when a snapshot is needed or
 * the flood is over.
 *
 * Sessions held by another broker are not watchable here (the web UI says which broker holds
 * them); there is no cross-broker live stream.
 */
import type { Logger } from 'pino';
import { GatehouseError } from '../domain/errors.js';
import { Feed, type WatcherSink } from './live-feed.js';
import type { Recorder } from './remote.js';

export { HIGH_WATER, type WatcherSink } from './live-feed.js';

/** What the hub needs of a live session (gateway/session.ts LiveSession fits). */
export interface LiveSource {
  readonly isLive: boolean;
  readonly taps: Set<(chunk: Buffer) => void>;
  readonly spec: { readonly pty: { readonly cols: number; readonly rows: number } | undefined };
}

export interface LiveHubDeps {
  readonly session: (id: string) => LiveSource | undefined;
  readonly recording: (id: string) => Recorder | undefined;
  readonly redact: boolean;
  readonly log: Logger;
}

export interface Watch {
  close(): void;
}

export class LiveHub {
  private readonly feeds = new Map<string, Feed>();

  constructor(private readonly deps: LiveHubDeps) {}

  /** Starts watching a session held by this broker. Throws GH_ERR_SESSION_NOT_FOUND / _STATE. */
  watch(sessionId: string, sink: WatcherSink): Watch {
    let feed = this.feeds.get(sessionId);
    if (feed === undefined) {
      const source = this.deps.session(sessionId);
      if (source === undefined) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', `session ${sessionId} is not live on this broker`);
      if (!source.isLive) throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${sessionId} is not live`);
      let taps: Set<(chunk: Buffer) => void>;
      try {
        taps = source.taps;
      } catch {
        throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${sessionId} has not started yet`);
      }
      feed = new Feed(sessionId, taps, this.deps.recording(sessionId), source.spec.pty, this.deps, () => this.feeds.delete(sessionId));
      this.feeds.set(sessionId, feed);
    }
    const f = feed;
    f.add(sink);
    return { close: () => f.remove(sink) };
  }

  /** The session ended: watchers are told why, and its feed goes. */
  ended(sessionId: string, reason: string): void {
    this.feeds.get(sessionId)?.end(reason);
  }

  /** Sessions with at least one watcher, and how many (metrics, tests). */
  watchers(sessionId: string): number {
    return this.feeds.get(sessionId)?.size ?? 0;
  }

  close(): void {
    for (const f of [...this.feeds.values()]) f.end('the broker is shutting down');
  }
}
