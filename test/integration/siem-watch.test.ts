/**
 * gRPC WatchEvents, the pull-based SIEM feed: stored events first, then live ones, in order with
 * no gaps or repeats; a consumer that reconnects with the last seq it saw resumes exactly; a slow
 * consumer still gets everything (backpressure); filters; roles; and `gatehouse events watch`.
 */
import { spawn } from 'node:child_process';
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { connect, type ApiClient } from '../../src/cli/client.js';
import type { AuditEvent, EventDraft } from '../../src/events/types.js';
import { BIN } from '../fixtures/child-broker.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { sleep, testScope, until } from '../fixtures/scope.js';

const scope = testScope();
const denied: EventDraft = { type: 'grant.denied', ctx: { actor: 'bob' }, data: { reason: 'no' } };

interface Watch {
  readonly got: AuditEvent[];
  /** The stream's messages as received; `expectEnvelopes` checks them after the fact. */
  readonly messages: Record<string, unknown>[];
  readonly call: grpc.ClientReadableStream<Record<string, unknown>>;
  readonly ended: Promise<grpc.ServiceError | null>;
}

function client(h: Harness, user: string): ApiClient {
  const c = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users[user]?.token });
  scope.defer(() => c.close());
  return c;
}

function watch(c: ApiClient, req: { fromSequence: number; types?: string[]; minSeverity?: string }): Watch {
  const raw = c.raw as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<Record<string, unknown>>>;
  const call = (raw.watchEvents as (...a: unknown[]) => grpc.ClientReadableStream<Record<string, unknown>>).call(c.raw, { types: [], minSeverity: '', ...req }, c.metadata);
  const got: AuditEvent[] = [];
  const messages: Record<string, unknown>[] = [];
  // No expect() in here: a failure inside an event-emitter callback is an unhandled error, not a
  // failure of the test. Collect, and let the test assert (expectEnvelopes).
  call.on('data', (r: Record<string, unknown>) => {
    messages.push(r);
    try {
      got.push(JSON.parse(String(r.json)) as AuditEvent);
    } catch {
      // Left out of `got`: expectEnvelopes reports the count mismatch.
    }
  });
  const ended = new Promise<grpc.ServiceError | null>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve(err));
    call.on('end', () => resolve(null));
  });
  scope.defer(() => call.cancel());
  return { got, messages, call, ended };
}

/** Every message parsed as an event, and its envelope fields (seq, id, type) agree with the event inside. */
function expectEnvelopes(w: Watch): void {
  expect(w.got).toHaveLength(w.messages.length);
  w.messages.forEach((r, i) => expect(r, `message ${i}`).toMatchObject({ seq: w.got[i]?.seq, id: w.got[i]?.id, type: w.got[i]?.type }));
}

const seqs = (events: readonly AuditEvent[]): number[] => events.map((e) => e.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('WatchEvents', () => {
  it('replays the stored events, follows live ones, and resumes exactly after a reconnect', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const dave = client(h, 'dave');
    const w = watch(dave, { fromSequence: 0 });
    const stored = (await h.broker.store.eventHead()).seq;
    await until(() => w.got.length === stored);
    for (let i = 0; i < 50; i++) await h.broker.events.emit(denied);
    await until(() => w.got.length === stored + 50);
    expect(seqs(w.got)).toEqual(range(1, stored + 50));
    expect(w.got).toEqual(await h.events());
    expectEnvelopes(w);

    // Disconnect, more events happen, reconnect with the last seq seen.
    w.call.cancel();
    await w.ended;
    const last = w.got.at(-1)?.seq ?? 0;
    const burst = Promise.all(Array.from({ length: 100 }, () => h.broker.events.emit(denied)));
    const again = watch(dave, { fromSequence: last });
    await burst;
    await until(async () => again.got.length === (await h.broker.store.eventHead()).seq - last);
    await sleep(100);
    expect(seqs(again.got)).toEqual(range(last + 1, (await h.broker.store.eventHead()).seq));
    expectEnvelopes(again);
  });

  it('a slow consumer gets everything, in order (backpressure, not buffering)', async () => {
    const h = await startHarness(scope);
    const w = watch(client(h, 'dave'), { fromSequence: 0 });
    w.call.pause();
    await Promise.all(Array.from({ length: 3_000 }, () => h.broker.events.emit(denied)));
    await sleep(300);
    w.call.resume();
    const head = (await h.broker.store.eventHead()).seq;
    await until(() => w.got.length === head, 10_000);
    expect(seqs(w.got)).toEqual(range(1, head));
    expectEnvelopes(w);
  });

  it('filters by type glob and severity, and starts at the head with from_sequence -1', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const bob = client(h, 'bob');
    const grants = watch(bob, { fromSequence: 0, types: ['grant.*'] });
    const loud = watch(bob, { fromSequence: 0, minSeverity: 'warning' });
    const now = watch(bob, { fromSequence: -1 });
    await sleep(200);
    await h.broker.events.emit({ type: 'session.refused', ctx: { user: 'alice' }, data: { error: 'GH_ERR_NO_GRANT', message: 'no grant' } });
    await until(() => loud.got.length === 1 && now.got.length === 1);
    expect(grants.got.map((e) => e.type)).toEqual(['grant.requested', 'grant.approved', 'grant.activated']);
    expect(loud.got.map((e) => e.type)).toEqual(['session.refused']);
    expect(now.got.map((e) => e.type)).toEqual(['session.refused']);
    for (const x of [grants, loud, now]) expectEnvelopes(x);
  });

  it('is for auditors, admins and watchers; the stream ends when the broker shuts down', async () => {
    const h = await startHarness(scope);
    const refused = await watch(client(h, 'alice'), { fromSequence: 0 }).ended;
    expect(refused?.metadata.get('gh-code')).toEqual(['GH_ERR_FORBIDDEN']);
    const w = watch(client(h, 'root-admin'), { fromSequence: 0 });
    await until(() => w.got.length > 0);
    const t0 = Date.now();
    await h.close();
    expect(await w.ended).toBeNull();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(w.got.at(-1)?.type).toBe('audit.checkpoint');
    expectEnvelopes(w);
  });

  it('gatehouse events watch prints the events from a seq as JSON lines', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'events', 'watch', '--from-seq', '2', '--limit', '3', '--json'], {
        env: { PATH: process.env.PATH ?? '', GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users.dave?.token ?? '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(out.code).toBe(0);
    const printed = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(printed).toEqual((await h.events()).slice(1, 4));
  });
});
