/**
 * After a crash (SIGKILL, power loss), sessions this broker held are still `live` in the store.
 * At start they are closed as `interrupted`: the session row, its recording (hashed as it lies on
 * disk, readable up to its last flushed line), and the events that say so.
 */
import { relative } from 'node:path';
import type { Clock } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { EventDraft } from '../events/types.js';
import { resolveRecording } from '../recording/reader.js';
import { hashFile } from '../recording/writer.js';
import type { RecordingRow, Store } from '../store/ports.js';

export async function sweepInterrupted(store: Store, events: EventLog, brokerId: string, recordingsDir: string, clock: Clock): Promise<number> {
  const live = await store.listSessions({ live: true, broker: brokerId, limit: 100_000 });
  for (const s of live) {
    const now = clock.now();
    const ctx = { actor: 'gatehouse', user: s.user, target: s.target, grantId: s.grantId, incident: s.incident, sessionId: s.id, source: s.source };
    const drafts: EventDraft[] = [
      { type: 'session.end', ctx, data: { reason: 'interrupted', exitCode: null, durationMs: now - s.startedAt, bytesIn: 0, bytesOut: 0, message: 'the broker stopped without ending the session' } },
    ];
    const rec = await store.getRecording(s.id);
    let recording: RecordingRow | undefined;
    if (rec) {
      // The file as it lies: the .cast.gz when the broker stopped between compressing and committing the close.
      const file = await resolveRecording(recordingsDir, rec.path).catch(() => null);
      const sum = file === null ? null : await hashFile(file).catch(() => null);
      const path = file === null ? rec.path : relative(recordingsDir, file);
      recording = { ...rec, path, state: 'interrupted', endedAt: now, sha256: sum?.sha256 ?? null, bytes: sum?.bytes ?? null };
      if (sum) drafts.push({ type: 'recording.closed', ctx, data: { path, sha256: sum.sha256, bytes: sum.bytes, truncated: false } });
    }
    await events.commit({
      sessions: [{ ...s, state: 'ended', endedAt: now, endReason: 'interrupted' }],
      ...(recording && { recordings: [recording] }),
      events: drafts,
    });
  }
  return live.length;
}
