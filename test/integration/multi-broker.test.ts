/**
 * Several brokers on one PostgreSQL: a revoke or a kill made on one broker ends the session held
 * by another within 1 s (LISTEN/NOTIFY), and a broker that loses the database ends its sessions
 * (fail closed).
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { startHarness } from '../fixtures/harness.js';
import { freshSchema } from '../fixtures/postgres.js';
import { tcpProxy } from '../fixtures/proxy.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;

async function twoBrokers(url: string) {
  const a = await startHarness(scope, { extra: { brokerId: 'broker-a', store: { postgres: url } } });
  // Broker B shares the database and the users (same keys and tokens).
  const b = await startHarness(scope, { extra: { brokerId: 'broker-b', store: { postgres: url } } });
  return { a, b };
}

describe('several brokers on PostgreSQL', () => {
  it('a revoke on broker B ends the session held by broker A within 1 s', async () => {
    const url = await freshSchema(scope);
    const { a, b } = await twoBrokers(url);
    const g = await a.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, a.target('alice', 'alice:sandbox'));
    await t.waitFor(PROMPT);
    const bob = connect({ server: `127.0.0.1:${b.broker.ports.grpc}`, token: a.users.bob?.token });
    scope.defer(() => bob.close());
    // Broker B knows bob by the same token only if its config has the same users: use B's own bob.
    const bobB = connect({ server: `127.0.0.1:${b.broker.ports.grpc}`, token: b.users.bob?.token });
    scope.defer(() => bobB.close());
    const revokedAt = Date.now();
    await bobB.call('revokeGrant', { id: g.id, reason: 'contained' });
    expect(await t.exited).toBe(255);
    const elapsed = Date.now() - revokedAt;
    expect(elapsed).toBeLessThan(1_000);
    expect(t.output).toContain(`grant ${g.id} was revoked by bob: contained`);
    const end = await until(async () => (await a.events('session.end'))[0]);
    expect(end).toMatchObject({ broker: 'broker-a', data: { reason: 'revoked' } });
    const revoked = (await b.events('grant.revoked'))[0];
    expect(revoked?.broker).toBe('broker-b');
  });

  it('a kill on broker B ends the session on broker A', async () => {
    const url = await freshSchema(scope);
    const { a, b } = await twoBrokers(url);
    await a.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, a.target('alice', 'alice:sandbox'));
    await t.waitFor(PROMPT);
    const live = await until(async () => (await b.broker.store.listSessions({ live: true }))[0]);
    const bobB = connect({ server: `127.0.0.1:${b.broker.ports.grpc}`, token: b.users.bob?.token });
    scope.defer(() => bobB.close());
    await bobB.call('killSession', { id: live.id, reason: 'stop' });
    expect(await t.exited).toBe(255);
    expect(t.output).toContain('session killed by bob: stop');
  });

  it('a broker that loses its database ends its sessions (fail closed)', async () => {
    const url = await freshSchema(scope);
    const proxy = await tcpProxy(scope, 5432);
    const viaProxy = url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`);
    const a = await startHarness(scope, { extra: { brokerId: 'broker-a', store: { postgres: viaProxy, failClosedAfter: '1500ms' } } });
    await a.grant({ targets: ['sandbox'] });
    const t = new PtySsh(scope, a.target('alice', 'alice:sandbox'));
    await t.waitFor(PROMPT);
    await until(async () => (await a.events('session.start'))[0]);
    const cut = Date.now();
    proxy.cut();
    expect(await t.exited).toBe(255);
    const after = Date.now() - cut;
    expect(after).toBeGreaterThanOrEqual(1_400);
    expect(after).toBeLessThan(5_000);
    expect(t.output).toContain('the broker lost its database');
    proxy.restore();
    // Once the database is back, the end of the session is recorded.
    const end = await until(async () => (await a.broker.store.readEvents(0, 1000)).find((e) => e.type === 'session.end'), 15_000);
    expect(end.data.reason).toBe('store-lost');
  });
});
