/**
 * A broker SIGKILLed in the middle of a burst of events: after a restart the audit chain verifies,
 * every change the API acknowledged is in it, and the outbox delivers the rest to the sinks —
 * every stored event reaches the file and the webhook, repeats only with the same id.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import type { AuditEvent } from '../../src/events/types.js';
import { spawnBroker, writeConfig } from '../fixtures/child-broker.js';
import { runCli } from '../fixtures/cli.js';
import { prepareBroker } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { recorder } from '../unit/siem/http-recorder.js';

const scope = testScope();

const cli = runCli;

async function jsonl(path: string): Promise<AuditEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  // Only whole lines: a live sink may be in the middle of writing the last one.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
}

describe('SIGKILL during a burst', () => {
  it('leaves a chain that verifies, and the outbox delivers the rest after a restart', async () => {
    let slow = true;
    // A webhook that is slow at first, so the outbox is behind when the broker dies.
    const hook = await recorder(scope, () => [slow ? 503 : 200]);
    const p = await prepareBroker(scope, {
      sinks: [{ file: { path: 'data/events.jsonl' } }, { name: 'hook', http: { url: `http://127.0.0.1:${hook.port}/`, hmacSecret: 'k', maxBackoff: '300ms' } }],
      extra: { audit: { checkpointEvery: 50 } },
    });
    const cfg = await writeConfig(p);
    const b1 = await spawnBroker(scope, cfg);
    const alice = connect({ server: `127.0.0.1:${b1.ports.grpc}`, token: p.users.alice?.token });
    scope.defer(() => alice.close());

    const acknowledged: string[] = [];
    let stop = false;
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const g = await alice.call('requestGrant', { user: 'alice', targets: ['sandbox'], incident: 'INC-B', duration: '10m', reason: 'burst', template: '', breakGlass: false });
          acknowledged.push(String(g.id));
        } catch {
          return; // the broker died
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    await until(() => acknowledged.length >= 150, 15_000, 'a burst under way');
    b1.child.kill('SIGKILL');
    await b1.exited;
    stop = true;
    await Promise.all(loops);

    slow = false;
    const b2 = await spawnBroker(scope, cfg);
    const env = { GATEHOUSE_SERVER: `127.0.0.1:${b2.ports.grpc}`, GATEHOUSE_TOKEN: p.users.dave?.token ?? '' };
    const v = await cli(['audit', 'verify', '--json'], env);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, firstSeq: 1 });

    // Every acknowledged grant is in the chain.
    const exported = await cli(['audit', 'export'], env);
    const stored = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    const requested = new Set(stored.filter((e) => e.type === 'grant.requested').map((e) => e.grantId));
    for (const id of acknowledged) expect(requested.has(id)).toBe(true);
    expect(stored.filter((e) => e.type === 'audit.checkpoint').length).toBeGreaterThan(1);

    // The outbox delivers everything stored (at least once) to both sinks.
    const delivered = (): AuditEvent[] => hook.requests.filter((r) => r.status === 200).flatMap((r) => JSON.parse(r.body.toString()) as AuditEvent[]);
    await until(
      async () => {
        const head = stored.length;
        const file = new Set((await jsonl(join(p.dir, 'data/events.jsonl'))).map((e) => e.seq));
        const web = new Set(delivered().map((e) => e.seq));
        return Array.from({ length: head }, (_, i) => i + 1).every((s) => file.has(s) && web.has(s));
      },
      20_000,
      'both sinks to catch up',
    );
    const byId = new Map(stored.map((e) => [e.id, e]));
    for (const e of [...(await jsonl(join(p.dir, 'data/events.jsonl'))), ...delivered()]) {
      const original = byId.get(e.id);
      if (original) expect(e).toEqual(original);
    }
    expect(hook.requests.some((r) => r.status === 503)).toBe(true);
  });
});
