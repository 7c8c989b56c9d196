/**
 * The event log turns lone surrogates into U+FFFD before sealing: canonical JSON (RFC 8785) refuses
 * them, and an odd string from a request body or a terminal must never keep an event out of the chain.
 */
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/domain/clock.js';
import { EventLog } from '../../../src/events/log.js';
import { ChainVerifier } from '../../../src/events/verify.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();

describe('EventLog', () => {
  it('commits an event whose strings hold lone surrogates, with U+FFFD in their place, and the chain verifies', async () => {
    const store = openSqliteStore(join(await scope.tempDir('gh-log-'), 'gh.db'));
    await store.migrate();
    const events = new EventLog(store, 'b1', systemClock, pino({ level: 'silent' }));
    scope.defer(async () => {
      events.close();
      await store.close();
    });
    const [e] = await events.emit({ type: 'grant.denied', ctx: { actor: 'bob\ud800', user: '\udc00alice' }, data: { reason: 'no \ud83d reason' } });
    expect(e).toMatchObject({ seq: 1, actor: 'bob\ufffd', user: '\ufffdalice', data: { reason: 'no \ufffd reason' } });
    const [stored] = await store.readEvents(0, 10);
    expect(stored).toEqual(e);
    const v = new ChainVerifier({ trustedKeys: [] });
    v.push(stored);
    expect(v.finish()).toMatchObject({ ok: true, events: 1 });
  });
});
