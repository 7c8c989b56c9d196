/**
 * Web UI access: no page, API route or WebSocket without a signed-in user; roles on every route
 * (watchers live and kill, auditors replay, admins both; responders not at all); sign-in with an
 * API token or a one-time link from `gatehouse web login` (single use, short-lived); cookies that
 * cannot be forged; cross-origin requests and WebSockets refused; a strict CSP on the pages.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WebAuth } from '../../src/api/http/auth.js';
import { HttpServer } from '../../src/api/http/server.js';
import { registerWeb } from '../../src/api/http/web.js';
import { connect } from '../../src/cli/client.js';
import { systemClock } from '../../src/domain/clock.js';
import { Directory } from '../../src/grants/directory.js';
import { LiveHub } from '../../src/recording/live.js';
import { fileScope, sleep } from '../fixtures/scope.js';
import { cookieOf, http, live, login, webHarness } from './web-helpers.js';

const files = fileScope();
const ID = 's-0000000000000000000000';

describe('web access control', async () => {
  const h = await webHarness(files, { extra: { web: { loginLinkTtl: '1s' } } });
  const bob = await login(h, 'bob'); // approver, watcher
  const dave = await login(h, 'dave'); // auditor
  const admin = await login(h, 'root-admin'); // admin, watcher

  it('refuses every page, API route and the WebSocket without a session', async () => {
    for (const path of ['/sessions', `/replay/${ID}`, `/live/${ID}`]) {
      const r = await http(h.base, 'GET', path);
      expect(r.status, path).toBe(302);
      expect(r.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await http(h.base, 'GET', '/')).headers.location).toBe('/login');
    for (const [method, path] of [
      ['GET', '/api/me'],
      ['GET', '/api/sessions'],
      ['GET', `/api/recordings/${ID}`],
      ['GET', `/api/recordings/${ID}/cast`],
      ['POST', `/api/sessions/${ID}/kill`],
    ] as const) {
      const r = await http(h.base, method, path, method === 'POST' ? { body: { reason: 'x' } } : {});
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.json.error).toBe('GH_ERR_UNAUTHENTICATED');
    }
    await expect(live(files, h, ID)).rejects.toMatchObject({ status: 401 });
    // The login page and the built assets are public (they hold no data).
    expect((await http(h.base, 'GET', '/login')).status).toBe(200);
  });

  it('signs in with an API token: HttpOnly, SameSite=Strict cookie; refuses responders and bad tokens', async () => {
    const ok = await http(h.base, 'POST', '/api/login', { body: { token: h.users.bob?.token } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ user: 'bob', can: { live: true, kill: true, replay: false } });
    const set = String(ok.headers['set-cookie']);
    expect(set).toMatch(/^gatehouse=[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect((await http(h.base, 'GET', '/api/me', { cookie: cookieOf(ok) })).json).toMatchObject({ user: 'bob', roles: ['approver', 'watcher'] });

    const alice = await http(h.base, 'POST', '/api/login', { body: { token: h.users.alice?.token } });
    expect(alice.status).toBe(403);
    expect(alice.headers['set-cookie']).toBeUndefined();
    expect((await http(h.base, 'POST', '/api/login', { body: { token: 'ght_not-a-token' } })).status).toBe(401);
    expect((await http(h.base, 'POST', '/api/login', { body: 'token=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).status).toBe(400);
  });

  it('enforces roles on every route: watcher live + kill, auditor replay, admin both', async () => {
    const asBob = await http(h.base, 'GET', '/api/sessions', { cookie: bob });
    expect(asBob.json).toEqual({ live: [], recorded: null });
    const asDave = await http(h.base, 'GET', '/api/sessions', { cookie: dave });
    expect(asDave.json).toEqual({ live: null, recorded: [] });
    const asAdmin = await http(h.base, 'GET', '/api/sessions', { cookie: admin });
    expect(asAdmin.json).toEqual({ live: [], recorded: [] });

    expect((await http(h.base, 'GET', `/api/recordings/${ID}`, { cookie: bob })).status).toBe(403);
    expect((await http(h.base, 'GET', `/api/recordings/${ID}/cast`, { cookie: bob })).status).toBe(403);
    expect((await http(h.base, 'GET', `/replay/${ID}`, { cookie: bob })).status).toBe(403);
    expect((await http(h.base, 'GET', `/api/recordings/${ID}`, { cookie: dave })).status).toBe(404);

    expect((await http(h.base, 'GET', `/live/${ID}`, { cookie: dave })).status).toBe(403);
    const daveKill = await http(h.base, 'POST', `/api/sessions/${ID}/kill`, { cookie: dave, body: { reason: 'x' } });
    expect(daveKill.status).toBe(403);
    expect(daveKill.json.message).toBe('dave needs one of the roles: watcher, admin');
    await expect(live(files, h, ID, { cookie: dave })).rejects.toMatchObject({ status: 403 });
    expect((await http(h.base, 'POST', `/api/sessions/${ID}/kill`, { cookie: bob, body: { reason: 'x' } })).status).toBe(404);
    await expect(live(files, h, ID, { cookie: bob })).rejects.toMatchObject({ status: 404 });
    expect((await http(h.base, 'GET', `/live/${ID}`, { cookie: admin })).status).toBe(200);
  });

  it('refuses a forged, tampered or expired cookie', async () => {
    const [name, value] = bob.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, u: 'root-admin' })).toString('base64url');
    expect((await http(h.base, 'GET', '/api/me', { cookie: `${name}=${forged}.${mac}` })).status).toBe(401);
    const expired = Buffer.from(JSON.stringify({ ...claims, e: Date.now() - 1 })).toString('base64url');
    expect((await http(h.base, 'GET', '/api/me', { cookie: `${name}=${expired}.${mac}` })).status).toBe(401);
    expect((await http(h.base, 'GET', '/api/me', { cookie: `${name}=${payload}.${mac.slice(0, -2)}AA` })).status).toBe(401);
  });

  it('signs in once with a link from CreateWebLogin; a second use, an expired link and a responder are refused', async () => {
    const api = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.dave?.token });
    files.defer(() => api.close());
    const r = await api.call('createWebLogin', {});
    const url = new URL(String(r.url));
    expect(`${url.protocol}//${url.host}`).toBe(h.base);
    expect(url.pathname).toBe('/login');
    expect(url.search).toBe('');
    const link = new URLSearchParams(url.hash.slice(1)).get('link') ?? '';
    const first = await http(h.base, 'POST', '/api/login', { body: { link } });
    expect(first.status).toBe(200);
    expect(first.json.user).toBe('dave');
    const again = await http(h.base, 'POST', '/api/login', { body: { link } });
    expect(again.status).toBe(401);
    expect(again.json.message).toMatch(/already used/);

    const stale = new URLSearchParams(new URL(String((await api.call('createWebLogin', {})).url)).hash.slice(1)).get('link') ?? '';
    await sleep(1_100);
    expect((await http(h.base, 'POST', '/api/login', { body: { link: stale } })).json.message).toMatch(/expired/);

    const alice = connect({ server: `127.0.0.1:${h.broker.ports.grpc}`, token: h.users.alice?.token });
    files.defer(() => alice.close());
    await expect(alice.call('createWebLogin', {})).rejects.toMatchObject({ code: 'GH_ERR_FORBIDDEN' });
  });

  it('refuses cross-origin state changes and WebSockets', async () => {
    const evil = 'http://evil.example';
    expect((await http(h.base, 'POST', '/api/login', { body: { token: h.users.bob?.token }, origin: evil })).status).toBe(403);
    expect((await http(h.base, 'POST', `/api/sessions/${ID}/kill`, { cookie: bob, body: { reason: 'x' }, origin: evil })).status).toBe(403);
    await expect(live(files, h, ID, { cookie: bob, origin: evil })).rejects.toMatchObject({ status: 403 });
    await expect(live(files, h, ID, { cookie: bob, origin: null })).rejects.toMatchObject({ status: 403 });
    expect((await http(h.base, 'POST', '/api/login', { body: { token: h.users.bob?.token }, origin: h.origin })).status).toBe(200);
  });

  it('serves pages with a strict CSP (no inline script, no eval) and no framing', async () => {
    for (const path of ['/login', '/sessions']) {
      const r = await http(h.base, 'GET', path, { cookie: bob });
      expect(r.status).toBe(200);
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
      expect(r.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(r.headers['cache-control']).toBe('no-store');
    }
    const page = await http(h.base, 'GET', '/sessions', { cookie: bob });
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1] ?? '';
    const js = await http(h.base, 'GET', asset);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    expect((await http(h.base, 'GET', '/assets/..%2Fpackage.json')).status).toBe(404);
  });
});

describe('a checkout without a built web UI', () => {
  it('answers pages with a clear message instead of failing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gh-nodist-'));
    files.defer(() => import('node:fs/promises').then((fs) => fs.rm(empty, { recursive: true, force: true })));
    const h = await webHarness(files);
    const log = pino({ level: 'silent' });
    const auth = await WebAuth.open(empty, new Directory([]), h.broker.store, systemClock, { sessionTtlMs: 60_000, linkTtlMs: 60_000, secure: false });
    const server = new HttpServer(log);
    registerWeb(server, { auth, store: h.broker.store, events: h.broker.events, live: new LiveHub({ session: () => undefined, recording: () => undefined, redact: true, log }), recordingsDir: empty, brokerId: 'x', isHere: () => false, publicOrigin: undefined, log, dist: empty });
    const port = await server.listen('127.0.0.1', 0);
    files.defer(() => server.close());
    const r = await http(`http://127.0.0.1:${port}`, 'GET', '/login');
    expect(r.status).toBe(503);
    expect(r.text).toContain('The web UI is not built');
    expect(r.text).toContain('npm run build');
  });
});
