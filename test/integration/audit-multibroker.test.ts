/**
 * Two brokers appending to one PostgreSQL chain at once, each checkpointing with its own key: every
 * checkpoint signs the true head at its place in the chain, each key's checkpoints link to its own
 * previous one, and the chain verifies online (each broker trusting the other's key); the sinks of
 * each broker keep their own cursors.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { loadOrCreateSigningKey, publicKeyPath } from '../../src/events/signing-key.js';
import type { VerifyReport } from '../../src/events/verify.js';
import { startHarness } from '../fixtures/harness.js';
import { freshSchema } from '../fixtures/postgres.js';
import { testScope, until } from '../fixtures/scope.js';

const scope = testScope();

describe('audit checkpoints with several brokers on PostgreSQL', () => {
  it('concurrent brokers sign consistent checkpoints, and the chain verifies with both keys', async () => {
    const url = await freshSchema(scope);
    const keys = await scope.tempDir('gh-keys-');
    const a = join(keys, 'a.pem');
    const b = join(keys, 'b.pem');
    await loadOrCreateSigningKey(a);
    await loadOrCreateSigningKey(b);
    const audit = (own: string, other: string) => ({ checkpointEvery: 10, signingKeyFile: own, trustedKeys: [publicKeyPath(other)] });
    const ha = await startHarness(scope, { extra: { brokerId: 'broker-a', store: { postgres: url }, audit: audit(a, b) } });
    const hb = await startHarness(scope, { extra: { brokerId: 'broker-b', store: { postgres: url }, audit: audit(b, a) } });
    const burst = (h: typeof ha) =>
      Promise.all(Array.from({ length: 60 }, (_, i) => h.broker.events.emit({ type: 'grant.denied', ctx: { actor: 'bob', incident: `INC-${i}` }, data: { reason: 'no' } })));
    await Promise.all([burst(ha), burst(hb), ha.broker.checkpointer.checkpoint(), hb.broker.checkpointer.checkpoint()]);
    await Promise.all([ha.broker.events.settled(), hb.broker.events.settled()]);
    await Promise.all([ha.broker.checkpointer.checkpoint(), hb.broker.checkpointer.checkpoint()]);

    const dave = connect({ server: `127.0.0.1:${ha.broker.ports.grpc}`, token: ha.users.dave?.token });
    scope.defer(() => dave.close());
    const res = await dave.call('verifyAudit', { anchorJson: '', skipRecordings: true });
    const report = JSON.parse(String(res.json)) as VerifyReport;
    expect(report.break).toBeNull();
    expect(res.ok).toBe(true);
    expect(report.checkpoints.signers).toHaveLength(2);
    expect(report.checkpoints.count).toBeGreaterThanOrEqual(2);

    // Each broker's file sink has its own cursor: both files get every event.
    const head = (await ha.broker.store.eventHead()).seq;
    expect(head).toBeGreaterThanOrEqual(120);
    await until(async () => (await ha.broker.store.getCursor('broker-a/file-0')) === head && (await ha.broker.store.getCursor('broker-b/file-0')) === head);
    expect(await ha.broker.store.getCursor('file-0')).toBe(0);
  });
});
