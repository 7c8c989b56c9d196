/**
 * How the broker builds each live session for the SSH edge (GatewayServices.createSession): its
 * recording opened under the recordings directory, inspection attached, and the session held by
 * the registry, the watchdog, the anomaly engine, the live view and the metrics until it ends.
 * Separate from main.ts so the composition root reads as the order of start-up and shutdown, and
 * what happens around one session reads in one place.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { GrantService } from '../grants/service.js';
import type { ReviewQueue } from '../inspect/review.js';
import type { AnomalyEngine } from '../monitor/anomaly/engine.js';
import type { Metrics } from '../monitor/metrics.js';
import type { Watchdog } from '../monitor/watchdog.js';
import type { CompiledRules } from '../policy/index.js';
import { recordingPath } from '../recording/layout.js';
import type { LiveHub } from '../recording/live.js';
import { RemoteRecording, type Recorder } from '../recording/remote.js';
import { createInspection } from './inspection.js';
import type { SessionRegistry } from './registry.js';
import type { GatewayServices } from './services.js';
import { LiveSession } from './session.js';

/** The recordings section of the config (config.recordings) that each session's recording follows. */
export interface SessionRecordingOptions {
  readonly dir: string;
  readonly maxOutputBytes: number;
  readonly maxExecOutputBytes: number;
  readonly redact: boolean;
  readonly input: boolean;
  readonly gzip: boolean;
}

export interface SessionFactoryDeps {
  readonly events: EventLog;
  readonly clock: Clock;
  readonly log: Logger;
  readonly brokerId: string;
  readonly recordings: SessionRecordingOptions;
  /** Compiled command rules of a template, by name (throws for a template not configured). */
  readonly rulesFor: (template: string) => CompiledRules;
  readonly reviews: ReviewQueue;
  readonly grants: GrantService;
  readonly registry: SessionRegistry;
  /** Open recordings by session id, shared with the LiveHub, which reads a live session's recording. */
  readonly writers: Map<string, Recorder>;
  readonly live: LiveHub;
  readonly metrics: Metrics;
  readonly watchdog: Watchdog;
  readonly anomalies: AnomalyEngine;
}

export function createSessionFactory(d: SessionFactoryDeps): GatewayServices['createSession'] {
  const { events, clock, log, brokerId, recordings, rulesFor, reviews, grants, registry, writers, live, metrics, watchdog, anomalies } = d;
  return (spec, channel, connector, onEnded) => {
    const session = new LiveSession(spec, channel, {
      events,
      connector,
      clock,
      log,
      brokerId,
      attachInspection: createInspection({ rules: rulesFor, reviews, events, log, flagForReview: (id, ev) => grants.flagForReview(id, ev) }),
      openRecording: async (s, onError) => {
        const path = recordingPath(s.id, clock.now());
        const writer = await RemoteRecording.open(
          join(recordings.dir, path),
          {
            width: s.pty?.cols ?? 80,
            height: s.pty?.rows ?? 24,
            timestamp: Math.floor(clock.now() / 1000),
            ...(s.pty && { env: { TERM: s.pty.term } }),
            title: `${s.grant.user} on ${s.target.name} (${s.grant.incident})`,
            session_id: s.id,
            grant_id: s.grant.id,
            incident: s.grant.incident,
            user: s.grant.user,
            target: s.target.name,
            broker: brokerId,
            kind: s.kind,
            command: s.command ?? null,
          },
          { maxOutputBytes: s.kind === 'exec' ? recordings.maxExecOutputBytes : recordings.maxOutputBytes, onError, redact: recordings.redact, input: recordings.input, gzip: recordings.gzip },
        );
        writers.set(s.id, writer);
        // The index and the end events name the file as it lies on disk: .cast.gz once gzipped at close.
        return { writer, get path() { return writer.file.endsWith('.gz') ? `${path}.gz` : path; } };
      },
      onEnded: (s, reason) => {
        writers.delete(s.id);
        live.ended(s.id, reason);
        registry.delete(s.id);
        metrics.sessionsActive.set(registry.size);
        unwatch();
        unwatchAnomalies();
        onEnded(s, reason);
      },
    });
    registry.add(session);
    metrics.sessionsActive.set(registry.size);
    const unwatch = watchdog.watch(session);
    const unwatchAnomalies = anomalies.watch(session);
    return session;
  };
}
