/**
 * Sessions end on time and for a stated reason: expiry, revocation, a watcher's kill, broker
 * shutdown (SIGTERM); and a SIGKILLed broker leaves a readable recording, closed as `interrupted`
 * at the next start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCast, readCast } from '../../src/recording/reader.js';
import { connect } from '../../src/cli/client.js';
import { spawnBroker, writeConfig } from '../fixtures/child-broker.js';
import { prepareBroker, startHarness } from '../fixtures/harness.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';
import { startSshd } from '../fixtures/sshd.js';
import type { AuditEvent } from '../../src/events/types.js';

const files = fileScope();
const scope = testScope();
const PROMPT = /[#$] $/;

describe('sessions end on time', () => {
  it('ends every session of a grant at its expiry and tells the responder', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    // Long enough for both sessions to be running before it expires on a loaded two-core machine.
    const g = await h.grant({ duration: 5_000 });
    const a = new PtySsh(scope, h.target('alice', 'alice:web-1'));
    const b = runSsh(scope, h.target('alice', 'alice:web-1'), 'sleep 30');
    await a.waitFor(PROMPT);
    await until(async () => (await h.events('session.start')).length === 2, 5_000, 'both sessions to start');
    expect(Date.now()).toBeLessThan(g.expiresAt ?? 0);
    expect(await a.exited).toBe(255);
    expect((await b).code).toBe(255);
    expect(a.output).toContain(`[gatehouse] grant ${g.id} expired at ${new Date(g.expiresAt ?? 0).toISOString()}`);
    const ends = await until(async () => {
      const e = await h.events('session.end');
      return e.length === 2 && e;
    });
    for (const e of ends) {
      expect(e.data.reason).toBe('expired');
      expect(Date.parse(e.time) - (g.expiresAt ?? 0)).toBeLessThan(1_000);
      expect(Date.parse(e.time)).toBeGreaterThanOrEqual(g.expiresAt ?? 0);
    }
  });

  it('ends sessions when the grant is revoked, naming who and why', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    const g = await h.grant();
    const a = new PtySsh(scope, h.target('alice', 'alice:web-1'));
    await a.waitFor(PROMPT);
    const api = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.bob?.token });
    scope.defer(() => api.close());
    const revoked = await api.call('revokeGrant', { id: g.id, reason: 'wrong host' });
    expect(revoked.state).toBe('revoked');
    expect(await a.exited).toBe(255);
    expect(a.output).toContain(`[gatehouse] grant ${g.id} was revoked by bob: wrong host`);
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('revoked');
  });

  it('ends a session a watcher kills, with the reason', async () => {
    const sshd = await startSshd(files);
    const h = await startHarness(scope, { sshd });
    await h.grant();
    const a = new PtySsh(scope, h.target('alice', 'alice:web-1'));
    await a.waitFor(PROMPT);
    const start = await until(async () => (await h.events('session.start'))[0]);
    const api = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.bob?.token });
    scope.defer(() => api.close());
    await api.call('killSession', { id: start.sessionId, reason: 'looks like exfiltration' });
    expect(await a.exited).toBe(255);
    expect(a.output).toContain('[gatehouse] session killed by bob: looks like exfiltration');
    const end = await until(async () => (await h.events('session.end'))[0]);
    expect(end.data.reason).toBe('killed');
    const alice = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.alice?.token });
    scope.defer(() => alice.close());
    await expect(alice.call('killSession', { id: start.sessionId, reason: 'x' })).rejects.toMatchObject({ code: 'GH_ERR_FORBIDDEN' });
  });
});

describe('broker process', () => {
  it('SIGTERM ends live sessions with reason shutdown', async () => {
    const sshd = await startSshd(files);
    const p = await prepareBroker(scope, { sshd });
    const cfg = await writeConfig(p);
    const b = await spawnBroker(scope, cfg);
    const h = { target: (user: string, login: string) => ({ port: b.ports.ssh, knownHosts: join(p.dir, 'known_hosts'), key: p.users[user]?.key.privatePath ?? '', login }) };
    await writeKnownHosts(p.dir, b.ports.ssh);
    const api = connect({ server: `127.0.0.1:${b.ports.grpc}`, token: p.users.alice?.token });
    scope.defer(() => api.close());
    const g = await api.call('requestGrant', { user: 'alice', targets: ['web-1'], incident: 'INC-9', duration: '10m', reason: 'r', template: '', breakGlass: false });
    const bob = connect({ server: `127.0.0.1:${b.ports.grpc}`, token: p.users.bob?.token });
    scope.defer(() => bob.close());
    await bob.call('approveGrant', { id: g.id, totp: '' });
    const a = new PtySsh(scope, h.target('alice', 'alice:web-1'));
    await a.waitFor(PROMPT);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(await a.exited).toBe(255);
    expect(a.output).toContain('[gatehouse] the broker is shutting down');
    const events = await jsonl(join(p.dir, 'data/events.jsonl'));
    const end = events.find((e) => e.type === 'session.end');
    expect(end?.data.reason).toBe('shutdown');
    // The shutdown checkpoint comes last, so that the stop itself is anchored by a signature.
    expect(events.at(-1)?.type).toBe('audit.checkpoint');
    expect(events.filter((e) => e.type !== 'audit.checkpoint').at(-1)?.type).toBe('broker.stopped');
  });

  it('SIGKILL mid-session leaves a readable recording, closed as interrupted at the next start', async () => {
    const sshd = await startSshd(files);
    const p = await prepareBroker(scope, { sshd });
    const cfg = await writeConfig(p);
    const b = await spawnBroker(scope, cfg);
    await writeKnownHosts(p.dir, b.ports.ssh);
    const api = connect({ server: `127.0.0.1:${b.ports.grpc}`, token: p.users.alice?.token });
    const bob = connect({ server: `127.0.0.1:${b.ports.grpc}`, token: p.users.bob?.token });
    scope.defer(() => (api.close(), bob.close()));
    const g = await api.call('requestGrant', { user: 'alice', targets: ['web-1'], incident: 'INC-10', duration: '10m', reason: 'r', template: '', breakGlass: false });
    await bob.call('approveGrant', { id: g.id, totp: '' });
    const t = { port: b.ports.ssh, knownHosts: join(p.dir, 'known_hosts'), key: p.users.alice?.key.privatePath ?? '', login: 'alice:web-1' };
    const a = new PtySsh(scope, t);
    await a.waitFor(PROMPT);
    a.write('for i in $(seq 1 5); do echo line-$i; done\r');
    await a.waitFor('line-5\r\n');
    const sessions = (await bob.call('listSessions', { live: true, incident: '', grantId: '', user: '' })).sessions as Record<string, unknown>[];
    const recording = String(sessions[0]?.recording);
    // Lines reach the file within 500 ms of the output (QUIET_BATCH_MS, thread-port.ts).
    await until(async () => (await readFile(join(p.dir, 'recordings', recording), 'utf8')).includes('line-5'), 2_000, 'line-5 in the recording');
    b.child.kill('SIGKILL');
    await b.exited;
    await a.exited;

    const torn = parseCast(await readFile(join(p.dir, 'recordings', recording), 'utf8'));
    expect(torn.header.session_id).toBe(sessions[0]?.id);
    expect(torn.events.filter((e) => e[1] === 'o').map((e) => e[2]).join('')).toContain('line-5');

    const b2 = await spawnBroker(scope, cfg);
    const bob2 = connect({ server: `127.0.0.1:${b2.ports.grpc}`, token: p.users.bob?.token });
    scope.defer(() => bob2.close());
    const s = await bob2.call('getSession', { id: sessions[0]?.id });
    expect(s).toMatchObject({ state: 'ended', endReason: 'interrupted' });
    const cast = await readCast(join(p.dir, 'recordings', recording));
    expect(cast.events.length).toBeGreaterThan(3);
    b2.child.kill('SIGTERM');
    await b2.exited;
    const events = await jsonl(join(p.dir, 'data/events.jsonl'));
    const closed = events.find((e) => e.type === 'recording.closed' && e.sessionId === sessions[0]?.id);
    expect(closed?.data.path).toBe(recording);
  });
});

async function writeKnownHosts(dir: string, port: number): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  const pub = await readFile(join(dir, 'data/ssh_host_ed25519_key.pub'), 'utf8');
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${pub.trim().split(' ').slice(0, 2).join(' ')}\n`);
}

async function jsonl(path: string): Promise<AuditEvent[]> {
  return (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
}
