/**
 * Local port forwarding (`ssh -L`) through the broker: only to the exact destinations the grant's
 * template lists, only to ssh targets, supervised like a session (a revoke closes the forwarded
 * TCP connection), and remote, agent and X11 forwarding still refused.
 * Real OpenSSH client → Gatehouse → a real sshd, which opens the stream to a TCP echo server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killSession } from '../../src/api/kill.js';
import type { User } from '../../src/domain/types.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { freePort } from '../fixtures/ports.js';
import { fileScope, testScope, until, type Scope } from '../fixtures/scope.js';
import { runSsh, sshArgs, type SshTarget } from '../fixtures/ssh.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';

const files = fileScope();
const scope = testScope();

interface Echo {
  readonly port: number;
  /** Connections the server has accepted (each one came from the target's sshd). */
  readonly accepted: () => number;
}

/** A TCP echo server on 127.0.0.1 (the destination behind the target). */
async function echoServer(s: Scope): Promise<Echo> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const srv = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  s.defer(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => srv.close(r));
  });
  const addr = srv.address();
  return { port: typeof addr === 'object' && addr !== null ? addr.port : 0, accepted: () => accepted };
}

interface Forwarder {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** `ssh -N` with forwarding options, ready once its listener is up (from its debug log). */
async function forwarder(t: SshTarget, options: readonly string[], listening: RegExp): Promise<Forwarder> {
  const child = spawn('ssh', sshArgs(t, ['-N', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=DEBUG1', ...options]), { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  scope.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  await until(() => listening.test(err) || child.exitCode !== null, 10_000, 'the forwarder to listen');
  return { child, stderr: () => err, exited };
}

/** Connects to a forwarded port, sends `payload`, and collects what comes back until the close. */
function exchange(port: number, payload: string): { socket: Socket; received: () => string; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (b: Buffer) => (got += b.toString()));
  socket.on('error', () => {});
  socket.once('connect', () => socket.write(payload));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  scope.defer(() => socket.destroy());
  return { socket, received: () => got, closed };
}

/** `p`, or a clear failure after `ms` (rather than the test's own timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))]);
}

async function refusals(h: Harness): Promise<string[]> {
  return (await h.events('session.refused')).map((e) => `${String(e.data.error)}: ${String(e.data.message)}`);
}

const listeningOn = (port: number): RegExp => new RegExp(`Local forwarding listening on 127\\.0\\.0\\.1 port ${port}\\b`);

describe('local port forwarding to an allowed destination', () => {
  let sshd: Sshd;
  it('relays a TCP stream to the destination and records its opening and closing (not its bytes)', async () => {
    sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    const grant = await h.grant();
    const local = await freePort();
    const f = await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${local}:127.0.0.1:${echo.port}`], listeningOn(local));
    const x = exchange(local, 'hello through the broker\n');
    await until(() => x.received() === 'hello through the broker\n', 5_000, 'the echo');
    x.socket.end();
    await x.closed;
    const closed = await until(async () => {
      const c = await h.events('session.forward_closed');
      return c.length > 0 && c;
    });
    const opened = await h.events('session.forward_opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ user: 'alice', target: 'web-1', grantId: grant.id, sessionId: null, data: { destination: `127.0.0.1:${echo.port}` } });
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ grantId: grant.id, data: { forwardId: opened[0]?.data.forwardId, destination: `127.0.0.1:${echo.port}`, reason: 'client-closed', bytesIn: 25, bytesOut: 25, message: null } });
    expect(echo.accepted()).toBe(1);
    // A forward is not a session: nothing to replay, no session row.
    expect(await h.events('session.start')).toHaveLength(0);
    expect(await h.broker.store.listSessions({})).toHaveLength(0);
    expect(await refusals(h)).toEqual([]);
    expect(f.child.exitCode).toBeNull();
  });

  it('refuses a destination the template does not list, and a local target even when it does', async () => {
    sshd ??= await startSshd(files);
    const echo = await echoServer(scope);
    const other = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    await h.grant({ targets: ['web-1', 'sandbox'] });
    const [l1, l2] = [await freePort(), await freePort()];
    await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${l1}:127.0.0.1:${other.port}`], listeningOn(l1));
    await forwarder(h.target('alice', 'alice:sandbox'), ['-L', `127.0.0.1:${l2}:127.0.0.1:${echo.port}`], listeningOn(l2));
    const a = exchange(l1, 'to the unlisted port\n');
    const b = exchange(l2, 'to a local target\n');
    await Promise.all([a.closed, b.closed]);
    expect(a.received()).toBe('');
    expect(b.received()).toBe('');
    expect(other.accepted()).toBe(0);
    expect(echo.accepted()).toBe(0);
    const refused = await until(async () => {
      const r = await refusals(h);
      return r.length >= 2 && r;
    });
    expect(refused.sort()).toEqual([
      `GH_ERR_CHANNEL_REFUSED: port forwarding is not allowed to 127.0.0.1:${other.port} by template diagnose (forwarding.local)`,
      'GH_ERR_CHANNEL_REFUSED: port forwarding is passed through only to ssh targets, and sandbox is a local target',
    ]);
    expect(await h.events('session.forward_opened')).toHaveLength(0);
  });

  it('keeps the connection when one destination cannot be reached, and says why', async () => {
    sshd ??= await startSshd(files);
    // Port 1 (tcpmux): nothing listens there. A port found free a moment ago could be taken by
    // another test file's server before the forward is tried.
    const closedPort = 1;
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${closedPort}`, `127.0.0.1:${echo.port}`] } } });
    await h.grant();
    const [l1, l2] = [await freePort(), await freePort()];
    const f = await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${l1}:127.0.0.1:${closedPort}`, '-L', `127.0.0.1:${l2}:127.0.0.1:${echo.port}`], listeningOn(l2));
    const dead = exchange(l1, 'anyone?\n');
    await dead.closed;
    expect(dead.received()).toBe('');
    const refused = await until(async () => {
      const r = await refusals(h);
      return r.length > 0 && r;
    });
    expect(refused).toEqual([`GH_ERR_UPSTREAM_CONNECT: forward to 127.0.0.1:${closedPort}: the target could not open 127.0.0.1:${closedPort}: (SSH) Channel open failure: Connection refused`]);
    const live = exchange(l2, 'still here\n');
    await until(() => live.received() === 'still here\n', 5_000, 'the echo on the second forward');
    expect(f.child.exitCode).toBeNull();
  });
});

describe('supervision', () => {
  it('closes an open forwarded connection within 1 s of a revoke, and writes why', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    const grant = await h.grant();
    const local = await freePort();
    const f = await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${local}:127.0.0.1:${echo.port}`], listeningOn(local));
    const x = exchange(local, 'ping\n');
    await until(() => x.received() === 'ping\n', 5_000, 'the echo');
    const revokedAt = Date.now();
    await h.broker.grants.revoke('bob', grant.id, 'incident over');
    const closedAt = await within(x.closed, 5_000, 'the forwarded connection to close');
    expect(closedAt - revokedAt).toBeLessThan(1_000);
    const closed = await until(async () => {
      const c = await h.events('session.forward_closed');
      return c.length > 0 && c;
    });
    expect(closed[0]?.data).toMatchObject({ reason: 'revoked', bytesIn: 5, bytesOut: 5, message: `grant ${grant.id} was revoked by bob: incident over` });
    // The access is over: the client, left with nothing but a listener, is disconnected.
    expect(await Promise.race([f.exited, new Promise((r) => setTimeout(() => r('still running'), 5_000))])).toBe(255);
  });

  it('closes it at the grant expiry', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    const grant = await h.grant({ duration: 3_000 });
    const local = await freePort();
    await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${local}:127.0.0.1:${echo.port}`], listeningOn(local));
    const x = exchange(local, 'ping\n');
    await until(() => x.received() === 'ping\n', 5_000, 'the echo');
    const closedAt = await within(x.closed, 6_000, 'the forwarded connection to close');
    expect(closedAt - (grant.expiresAt as number)).toBeGreaterThanOrEqual(0);
    expect(closedAt - (grant.expiresAt as number)).toBeLessThan(500);
    const closed = await until(async () => {
      const c = await h.events('session.forward_closed');
      return c.length > 0 && c;
    });
    expect(closed[0]?.data.reason).toBe('expired');
  });

  it('closes the forwards a connection carries when a session on it is killed', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    await h.grant();
    const local = await freePort();
    // Not -N: the connection carries an exec session next to the forward.
    const child = spawn('ssh', sshArgs(h.target('alice', 'alice:web-1'), ['-o', 'LogLevel=DEBUG1', '-L', `127.0.0.1:${local}:127.0.0.1:${echo.port}`]).concat('sleep 30'), { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    scope.defer(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    await until(() => listeningOn(local).test(err), 10_000, 'the forwarder to listen');
    const session = await until(async () => (await h.broker.store.listSessions({ live: true }))[0], 5_000, 'the live session');
    const x = exchange(local, 'ping\n');
    await until(() => x.received() === 'ping\n', 5_000, 'the echo');
    const bob = h.broker.config.users.find((u) => u.name === 'bob');
    await killSession({ store: h.broker.store, events: h.broker.events }, { user: bob as User, source: 'test' }, session.id, 'stop the tunnel');
    await within(x.closed, 2_000, 'the forwarded connection to close');
    const closed = await until(async () => {
      const c = await h.events('session.forward_closed');
      return c.length > 0 && c;
    });
    expect(closed[0]?.data).toMatchObject({ reason: 'killed', message: 'a session on the same connection was ended (killed)' });
    expect(await within(exited, 5_000, 'ssh to exit')).toBe(255);
  });

  it('ends open forwards with reason shutdown when the broker stops', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    await h.grant();
    const local = await freePort();
    await forwarder(h.target('alice', 'alice:web-1'), ['-L', `127.0.0.1:${local}:127.0.0.1:${echo.port}`], listeningOn(local));
    const x = exchange(local, 'ping\n');
    await until(() => x.received() === 'ping\n', 5_000, 'the echo');
    await h.broker.close();
    await within(x.closed, 5_000, 'the forwarded connection to close');
    const events = (await readFile(join(h.dir, 'data', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    expect(events.filter((e) => e.type === 'session.forward_closed').map((e) => e.data.reason)).toEqual(['shutdown']);
  });
});

describe('forwarding that stays refused', () => {
  it('refuses remote forwarding (-R) even where the template allows local forwards', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    await h.grant();
    const f = await forwarder(h.target('alice', 'alice:web-1'), ['-R', `127.0.0.1:0:127.0.0.1:${echo.port}`], /remote port forwarding failed/);
    expect(await f.exited).toBe(255);
    expect(f.stderr()).toMatch(/Error: remote port forwarding failed for listen port 0/);
    const refused = await until(async () => {
      const m = await refusals(h);
      return m.length > 0 && m;
    });
    expect(refused).toEqual(['GH_ERR_CHANNEL_REFUSED: remote port forwarding is not allowed through the broker']);
  });

  it('refuses agent and X11 forwarding, and runs the command without them', async () => {
    const sshd = await startSshd(files);
    const echo = await echoServer(scope);
    const h = await startHarness(scope, { sshd, templateFields: { forwarding: { local: [`127.0.0.1:${echo.port}`] } } });
    await h.grant();
    const agentDir = await scope.tempDir();
    const agent = spawn('ssh-agent', ['-D', '-a', join(agentDir, 'agent.sock')], { stdio: 'ignore' });
    scope.defer(() => agent.kill());
    await until(() => existsSync(join(agentDir, 'agent.sock')));
    // -Y (trusted X11) sends fake cookie data when there is no xauth, so the request is made.
    const r = await runSsh(scope, h.target('alice', 'alice:web-1'), 'echo ran', {
      extra: ['-A', '-Y', '-o', 'XAuthLocation=/nonexistent'],
      env: { SSH_AUTH_SOCK: join(agentDir, 'agent.sock'), DISPLAY: '127.0.0.1:99' },
    });
    expect(r.stdout.toString()).toBe('ran\n');
    expect(r.code).toBe(0);
    const refused = await until(async () => {
      const m = await refusals(h);
      return m.length >= 2 && m;
    });
    expect(refused.sort()).toEqual(['GH_ERR_CHANNEL_REFUSED: X11 forwarding is not supported through the broker', 'GH_ERR_CHANNEL_REFUSED: agent forwarding is not supported through the broker']);
  });
});
