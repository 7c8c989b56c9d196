/**
 * Live watch and kill, from the web (WebSocket) and the terminal (gRPC: `gatehouse sessions
 * watch`): a watcher who joins late sees the current screen, then output as the target prints it,
 * redacted (the responder sees it raw); Kill needs a reason, ends the responder's ssh with it, and
 * writes the same `session.killed` as the CLI; watchers are told why the session ended.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from '../fixtures/child-broker.js';
import { fileScope, testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';
import { http, live, login, webHarness } from './web-helpers.js';

const files = fileScope();
const scope = testScope();
const PROMPT = /[$#] $/;

describe('live sessions on the web and in the terminal', async () => {
  const h = await webHarness(files);
  const bob = await login(h, 'bob');

  async function session(user = 'alice'): Promise<{ ssh: PtySsh; id: string }> {
    const before = new Set((await h.broker.store.listSessions({ live: true })).map((s) => s.id));
    await h.grant({ user, targets: ['sandbox'], incident: `INC-${user}` });
    const ssh = new PtySsh(scope, h.target(user, `${user}:sandbox`), { cols: 90, rows: 20 });
    await ssh.waitFor(PROMPT);
    const id = await until(async () => (await h.broker.store.listSessions({ live: true })).find((s) => !before.has(s.id))?.id, 5_000, 'session');
    return { ssh, id };
  }

  it('lists the live session as watchable, then streams it from its current screen, redacted', async () => {
    const { ssh, id } = await session();
    ssh.write('echo before-$((40+2)); echo password=hunter2\r');
    await ssh.waitFor('password=hunter2\r\n');
    await ssh.waitFor(PROMPT, 5_000, ssh.output.lastIndexOf('hunter2'));

    const list = await http(h.base, 'GET', '/api/sessions', { cookie: bob });
    expect(list.json.live).toEqual([expect.objectContaining({ id, user: 'alice', target: 'sandbox', incident: 'INC-alice', watchable: true, broker: 'test-broker' })]);

    const c = await live(scope, h, id, { cookie: bob });
    await c.waitFor(() => c.frames.some((f) => f.type === 'snapshot'), 5_000, 'snapshot');
    expect(c.frames[0]).toMatchObject({ type: 'hello', session: { id, user: 'alice' } });
    const snap = c.frames.find((f) => f.type === 'snapshot') as unknown as { cols: number; rows: number; data: string };
    expect({ cols: snap.cols, rows: snap.rows }).toEqual({ cols: 90, rows: 20 });
    expect(snap.data).toContain('before-42');
    expect(snap.data).toContain('password=*******');
    expect(snap.data).not.toContain('hunter2');

    ssh.write('echo after-$((6*7)) token=abc123\r');
    await c.waitFor(() => c.output().includes('after-42'), 5_000, 'live output');
    await c.waitFor(() => c.output().includes('token=******'), 5_000, 'redacted live output');
    expect(ssh.output).toContain('token=abc123'); // the responder's own terminal is never redacted
    expect(c.output()).not.toContain('abc123');

    ssh.resize(100, 25);
    await c.waitFor(() => c.frames.some((f) => f.type === 'resize' && f.cols === 100 && f.rows === 25), 5_000, 'resize');
    ssh.write('exit\r');
    await c.waitFor(() => c.frames.some((f) => f.type === 'end'), 5_000, 'end');
    expect(c.frames.at(-1)).toEqual({ type: 'end', reason: 'exit' });
  });

  it('Kill needs a reason, ends the responder with it, and writes the same session.killed as the CLI', async () => {
    const { ssh, id } = await session();
    const c = await live(scope, h, id, { cookie: bob });
    await c.waitFor(() => c.frames.some((f) => f.type === 'snapshot'), 5_000, 'snapshot');

    const none = await http(h.base, 'POST', `/api/sessions/${id}/kill`, { cookie: bob, origin: h.origin, body: { reason: '  ' } });
    expect(none.status).toBe(400);
    expect(none.json.message).toBe('a reason is required to kill a session');
    const ok = await http(h.base, 'POST', `/api/sessions/${id}/kill`, { cookie: bob, origin: h.origin, body: { reason: 'suspected exfiltration' } });
    expect(ok.status).toBe(200);
    expect(await ssh.exited).toBe(255);
    expect(ssh.output).toContain('[gatehouse] session killed by bob: suspected exfiltration');
    await c.waitFor(() => c.frames.some((f) => f.type === 'end'), 5_000, 'end');
    expect(c.frames.at(-1)).toEqual({ type: 'end', reason: 'killed' });

    const killed = (await h.events('session.killed')).filter((e) => e.sessionId === id);
    expect(killed).toHaveLength(1);
    expect(killed[0]).toMatchObject({ actor: 'bob', user: 'alice', target: 'sandbox', data: { reason: 'suspected exfiltration' } });
    expect(killed[0]?.source).toMatch(/^web:/);
    const end = await until(async () => (await h.events('session.end')).find((e) => e.sessionId === id));
    expect(end.data.reason).toBe('killed');
    const again = await http(h.base, 'POST', `/api/sessions/${id}/kill`, { cookie: bob, origin: h.origin, body: { reason: 'again' } });
    expect(again.status).toBe(409);
  });

  it('gatehouse sessions watch follows the session from its screen until it ends; web login prints a link', async () => {
    const { ssh, id } = await session('erin');
    ssh.write('echo already-on-screen\r');
    await ssh.waitFor('already-on-screen\r\n');
    const env = { PATH: process.env.PATH ?? '', GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users.bob?.token ?? '' };
    const child = spawn(process.execPath, [BIN, 'sessions', 'watch', id], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    scope.defer(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', r));
    await until(() => out.includes('already-on-screen'), 10_000, 'snapshot in the CLI');
    ssh.write('printf "\\033]52;c;ZXZpbA==\\007visible-%s\\n" $((2+3))\r');
    await until(() => out.includes('visible-5'), 5_000, 'live output in the CLI');
    expect(out).not.toContain('\x1b]52'); // the clipboard write never reaches the watcher's terminal
    await http(h.base, 'POST', `/api/sessions/${id}/kill`, { cookie: bob, origin: h.origin, body: { reason: 'done watching' } });
    expect(await exited).toBe(0);
    expect(err).toContain(`session ${id} ended: killed`);

    const web = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'web', 'login', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      c.stdout.on('data', (b: Buffer) => (o += b.toString()));
      c.once('close', (code) => resolve({ code, out: o }));
    });
    expect(web.code).toBe(0);
    const link = JSON.parse(web.out) as { url: string; expiresAt: string };
    expect(link.url.startsWith(`${h.base}/login#link=`)).toBe(true);
    expect((await http(h.base, 'POST', '/api/login', { body: { link: link.url.split('#link=')[1] } })).json.user).toBe('bob');
  });

  it('refuses to watch a session that is not live, over the web and gRPC', async () => {
    const ended = (await h.broker.store.listSessions({ live: false })).find((s) => s.state === 'ended');
    await expect(live(scope, h, String(ended?.id), { cookie: bob })).rejects.toMatchObject({ status: 409 });
    const run = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'sessions', 'watch', String(ended?.id)], { env: { PATH: process.env.PATH ?? '', GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users.dave?.token ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let e = '';
      c.stderr.on('data', (b: Buffer) => (e += b.toString()));
      c.once('close', (code) => resolve({ code, err: e }));
    });
    expect(run.code).toBe(1);
    expect(run.err).toBe('gatehouse: dave needs one of the roles: watcher, admin\n');
  });
});
