/**
 * Checkpoints: the signing key (generated once, 0600, public half beside it), the triggers (every N
 * events, every T when something happened, at shutdown), what is signed (the true head, inside the
 * transaction, also under concurrent appends), and continuity across a restart.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/domain/clock.js';
import { verifyStore } from '../../../src/events/audit-store.js';
import { Checkpointer, checkSignature, signedMaterial } from '../../../src/events/checkpoint.js';
import { loadOrCreateSigningKey, parsePublicKeys, publicKeyPath, type SigningKey } from '../../../src/events/signing-key.js';
import { EventLog } from '../../../src/events/log.js';
import type { AuditEvent, EventDraft } from '../../../src/events/types.js';
import type { Store } from '../../../src/store/ports.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { testScope } from '../../fixtures/scope.js';

const scope = testScope();
const log = pino({ level: 'silent' });
const ev: EventDraft = { type: 'grant.denied', ctx: { actor: 'bob' }, data: { reason: 'no' } };

async function setup(opts: { every?: number; intervalMs?: number; path?: string } = {}) {
  const dir = await scope.tempDir('gh-cp-');
  const path = opts.path ?? join(dir, 'gh.db');
  const store = openSqliteStore(path);
  await store.migrate();
  const clock = new ManualClock();
  const events = new EventLog(store, 'b1', clock, log);
  await events.start();
  const key = await loadOrCreateSigningKey(join(dir, 'keys', 'audit_ed25519.pem'));
  const cp = new Checkpointer({ events, store, key, clock, log, every: opts.every ?? 5, intervalMs: opts.intervalMs ?? 60_000 });
  await cp.start();
  scope.defer(async () => {
    await cp.stop().catch(() => {});
    events.close();
    await store.close();
  });
  return { dir, path, store, clock, events, key, cp };
}

async function checkpoints(store: Store): Promise<AuditEvent[]> {
  return store.readEvents(0, 10_000, { types: ['audit.checkpoint'] });
}

describe('the signing key', () => {
  it('is generated once with mode 0600, its public half written beside it, and reloaded as is', async () => {
    const dir = await scope.tempDir();
    const path = join(dir, 'sub', 'audit_ed25519.pem');
    const a = await loadOrCreateSigningKey(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(publicKeyPath(path)).toBe(join(dir, 'sub', 'audit_ed25519.pub.pem'));
    expect(await readFile(publicKeyPath(path), 'utf8')).toBe(a.publicKeyPem);
    const b = await loadOrCreateSigningKey(path);
    expect(b.publicKeyB64).toBe(a.publicKeyB64);
    expect(a.keyId).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('refuses a key that is not Ed25519, and public keys that are not either', async () => {
    const dir = await scope.tempDir();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'ec.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await expect(loadOrCreateSigningKey(join(dir, 'ec.pem'))).rejects.toMatchObject({ code: 'GH_ERR_CONFIG' });
    expect(() => parsePublicKeys(publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow(/Ed25519/);
  });

  it('parsePublicKeys reads several PEM blocks, or base64 SPKI lines', async () => {
    const dir = await scope.tempDir();
    const a = await loadOrCreateSigningKey(join(dir, 'a.pem'));
    const b = await loadOrCreateSigningKey(join(dir, 'b.pem'));
    expect(parsePublicKeys(a.publicKeyPem + b.publicKeyPem)).toHaveLength(2);
    expect(parsePublicKeys(`${a.publicKeyB64}\n${b.publicKeyB64}\n`)).toHaveLength(2);
    expect(() => parsePublicKeys('')).toThrow(/no public key/);
  });
});

describe('Checkpointer', () => {
  it('signs canonical {seq, head, time, prevSignature} of the event before it, every N events', async () => {
    const { store, events, key } = await setup({ every: 5 });
    for (let i = 0; i < 12; i++) await events.emit(ev);
    await events.settled();
    await until(async () => (await checkpoints(store)).length === 2);
    const [c1, c2] = await checkpoints(store);
    const all = await store.readEvents(0, 100);
    for (const c of [c1, c2] as AuditEvent[]) {
      const before = all.find((e) => e.seq === c.seq - 1) as AuditEvent;
      expect(c.data).toMatchObject({ seq: before.seq, head: before.hash, publicKey: key.publicKeyB64 });
      const claims = { seq: before.seq, head: before.hash, time: c.time, prevSignature: c.data.prevSignature as string | null };
      expect(signedMaterial(claims)).toBe(`{"head":"${before.hash}","prevSignature":${JSON.stringify(claims.prevSignature)},"seq":${before.seq},"time":"${c.time}"}`);
      expect(checkSignature(key.publicKey, claims, String(c.data.signature))).toBe(true);
    }
    expect(c1?.data.prevSignature).toBeNull();
    expect(c2?.data.prevSignature).toBe(c1?.data.signature);
  });

  it('checkpoints on the interval only when something other than a checkpoint happened', async () => {
    const { store, events, clock } = await setup({ every: 1_000, intervalMs: 60_000 });
    await events.emit(ev);
    await events.settled();
    clock.advance(60_000);
    await until(async () => (await checkpoints(store)).length === 1);
    await events.settled();
    clock.advance(60_000);
    clock.advance(60_000);
    await sleepTicks();
    expect(await checkpoints(store)).toHaveLength(1);
  });

  it('writes a shutdown checkpoint that covers the last event', async () => {
    const { store, events, cp } = await setup({ every: 1_000 });
    await events.emit(ev, ev);
    await cp.stop();
    const all = await store.readEvents(0, 100);
    expect(all.map((e) => e.type)).toEqual(['grant.denied', 'grant.denied', 'audit.checkpoint']);
    expect(all[2]?.data.seq).toBe(2);
  });

  it('signs the true head when other events are appended concurrently', async () => {
    const { store, events, cp, key } = await setup({ every: 1_000_000 });
    await events.emit(ev);
    await events.settled();
    const burst = Promise.all(Array.from({ length: 200 }, () => events.emit(ev)));
    const made = Promise.all([cp.checkpoint(), (async () => (await events.settled(), cp.checkpoint()))()]);
    await burst;
    await made;
    const report = await verifyStore(store, { trustedKeys: [key.publicKey] });
    expect(report).toMatchObject({ ok: true });
    expect(report.checkpoints.count).toBeGreaterThanOrEqual(1);
  });

  it('continues its signature chain after a restart', async () => {
    const first = await setup({ every: 3 });
    for (let i = 0; i < 4; i++) await first.events.emit(ev);
    await first.cp.stop();
    first.events.close();
    await first.store.close();
    const store = openSqliteStore(first.path);
    await store.migrate();
    scope.defer(() => store.close());
    const events = new EventLog(store, 'b1', first.clock, log);
    await events.start();
    const cp = new Checkpointer({ events, store, key: first.key, clock: first.clock, log, every: 3 });
    await cp.start();
    await events.emit(ev);
    await cp.stop();
    events.close();
    const cps = await checkpoints(store);
    expect(cps.length).toBeGreaterThanOrEqual(2);
    expect(cps[0]?.data.prevSignature).toBeNull();
    for (let i = 1; i < cps.length; i++) expect(cps[i]?.data.prevSignature).toBe(cps[i - 1]?.data.signature);
    expect((await verifyStore(store, { trustedKeys: [first.key.publicKey], cursorNames: [cp.hintName] })).ok).toBe(true);
  });

  it('verification with the wrong key fails at the first checkpoint', async () => {
    const { store, events, cp, dir } = await setup({ every: 1_000 });
    await events.emit(ev);
    await cp.stop();
    const stranger: SigningKey = await loadOrCreateSigningKey(join(dir, 'stranger.pem'));
    const r = await verifyStore(store, { trustedKeys: [stranger.publicKey] });
    expect(r.break).toMatchObject({ seq: 2, kind: 'untrusted-signer' });
  });
});

async function until(fn: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sleepTicks(): Promise<void> {
  return new Promise((r) => setTimeout(r, 50));
}
