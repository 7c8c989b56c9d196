/**
 * Recovery after a crash (src/gateway/recovery.ts): a recording left `live` is closed as
 * `interrupted`, hashed as it lies on disk — also when the broker stopped after compressing it to
 * .cast.gz but before committing the close, where the index still names the .cast.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/domain/clock.js';
import { EventLog } from '../../../src/events/log.js';
import { sweepInterrupted } from '../../../src/gateway/recovery.js';
import type { Store } from '../../../src/store/ports.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { testScope } from '../../fixtures/scope.js';
import { recording, session, T0 } from '../../store/builders.js';

const scope = testScope();
const opened: { store: Store; events: EventLog }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.events.settled();
    o.events.close();
    await o.store.close();
  }
});

const CAST = '{"version":2,"width":80,"height":24}\n[0.5, "o", "before the crash\\r\\n"]\n';

/** A store as a broker left it when killed: one live session with its recording row (the file is the test's to write). */
async function crashed(): Promise<{ store: Store; events: EventLog; dir: string; id: string }> {
  const dir = await scope.tempDir();
  await mkdir(join(dir, '2026/01/01'), { recursive: true });
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const events = new EventLog(store, 'b1', new ManualClock(T0), pino({ level: 'silent' }));
  opened.push({ store, events });
  const s = session({ broker: 'b1', startedAt: T0 });
  await events.commit({ sessions: [s], recordings: [recording({ sessionId: s.id, path: join('2026/01/01', `${s.id}.cast`), startedAt: T0 })], events: [] });
  return { store, events, dir, id: s.id };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('sweepInterrupted', () => {
  it('hashes the .cast.gz when compression finished but the close was never committed, and names it in the index and the event', async () => {
    const gz = gzipSync(Buffer.from(CAST));
    const c = await crashed();
    await writeFile(join(c.dir, '2026/01/01', `${c.id}.cast.gz`), gz);
    expect(await sweepInterrupted(c.store, c.events, 'b1', c.dir, new ManualClock(T0 + 60_000))).toBe(1);
    const row = await c.store.getRecording(c.id);
    expect(row).toMatchObject({ path: join('2026/01/01', `${c.id}.cast.gz`), state: 'interrupted', sha256: sha(gz), bytes: gz.length, endedAt: T0 + 60_000 });
    const closed = (await c.store.readEvents(0, 100)).filter((e) => e.type === 'recording.closed');
    expect(closed.map((e) => e.data)).toEqual([{ path: join('2026/01/01', `${c.id}.cast.gz`), sha256: sha(gz), bytes: gz.length, truncated: false }]);
  });

  it('hashes the .cast as it lies when it is there, and stores no hash when there is no file', async () => {
    const c = await crashed();
    await writeFile(join(c.dir, '2026/01/01', `${c.id}.cast`), CAST);
    await sweepInterrupted(c.store, c.events, 'b1', c.dir, new ManualClock(T0 + 1_000));
    expect(await c.store.getRecording(c.id)).toMatchObject({ path: join('2026/01/01', `${c.id}.cast`), state: 'interrupted', sha256: sha(Buffer.from(CAST)) });

    const gone = await crashed();
    await sweepInterrupted(gone.store, gone.events, 'b1', gone.dir, new ManualClock(T0 + 1_000));
    expect(await gone.store.getRecording(gone.id)).toMatchObject({ path: join('2026/01/01', `${gone.id}.cast`), state: 'interrupted', sha256: null, bytes: null });
    expect((await gone.store.readEvents(0, 100)).map((e) => e.type)).toEqual(['session.end']);
  });
});
