/**
 * The web UI's routes on the broker's HTTP listener (docs/web.md): pages, the JSON API behind them,
 * and the live WebSocket. Every route checks the signed-in user and the permission it needs
 * (auth.ts PERMISSIONS) before anything else; a page without a session redirects to /login, an API
 * call gets 401, a WebSocket upgrade gets 401 on the handshake. State-changing calls take JSON only
 * and check Origin (with SameSite=Strict cookies, a cross-site form cannot reach them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { GatehouseError } from '../../domain/errors.js';
import type { EventLog } from '../../events/log.js';
import type { LiveHub } from '../../recording/live.js';
import { castText, closedWhole, openCastFile, outlineCast } from '../../recording/cast-stream.js';
import { resolveRecording } from '../../recording/reader.js';
import { redactText } from '../../recording/redact.js';
import type { RecordingRow, Store } from '../../store/ports.js';
import { killSession } from '../kill.js';
import { can, type Permission, type WebAuth } from './auth.js';
import { liveUpgrade } from './live-ws.js';
import { sendJson, type HttpServer } from './server.js';
import { htmlMessage, StaticFiles } from './static.js';
import { liveJson, markerJson, recordingJson } from './wire.js';

export interface WebDeps {
  readonly auth: WebAuth;
  readonly store: Store;
  readonly events: EventLog;
  readonly live: LiveHub;
  readonly recordingsDir: string;
  readonly brokerId: string;
  /** Whether a live session is held by this broker (only those can be watched here). */
  readonly isHere: (sessionId: string) => boolean;
  /** The configured web.publicUrl's origin; undefined: the request's own Host. */
  readonly publicOrigin: string | undefined;
  readonly log: Logger;
  /** web-player/dist, unless tests point elsewhere. */
  readonly dist?: string;
  /** Redact command lines shown from the command index (recordings.redact). Default true. */
  readonly redact?: boolean;
}

const MAX_BODY = 16 * 1024;

export function registerWeb(http: HttpServer, d: WebDeps): void {
  const files = new StaticFiles(d.dist);
  const show = d.redact === false ? (c: string): string => c : redactText;

  // Pages. The app is one page (index.html) that routes on the path.
  const page =
    (permission?: Permission) =>
    async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const user = d.auth.user(req);
      if (user === undefined) return redirect(res, `/login?next=${encodeURIComponent(req.url ?? '/')}`);
      if (permission !== undefined && !can(user, permission)) return htmlMessage(res, 403, 'Not allowed', `${user.name} cannot open this page (it needs the ${permission} permission).`);
      await files.page(res, 'index.html');
    };
  http.route('GET', '/', (req, res) => redirect(res, d.auth.user(req) ? '/sessions' : '/login'));
  http.route('GET', '/login', (_req, res) => files.page(res, 'login.html'));
  http.route('GET', '/sessions', page());
  http.route('GET', '/replay/:id', page('replay'));
  http.route('GET', '/live/:id', page('live'));
  http.route('GET', '/assets/:file', async (_req, res, p) => {
    if (!(await files.asset(res, 'assets', p.file ?? ''))) sendJson(res, 404, { error: 'not_found', message: 'no such file' });
  });
  http.route('GET', '/favicon.svg', async (_req, res) => {
    if (!(await files.asset(res, '', 'favicon.svg'))) sendJson(res, 404, { error: 'not_found', message: 'no such file' });
  });

  // Sign-in.
  http.route('POST', '/api/login', async (req, res) => {
    checkOrigin(req, d.publicOrigin);
    const body = parse(z.union([z.strictObject({ token: z.string().min(1).max(512) }), z.strictObject({ link: z.string().min(1).max(2048) })]), await readJson(req));
    const user = 'token' in body ? d.auth.withToken(body.token) : await d.auth.redeemLink(body.link);
    d.log.info({ user: user.name, via: 'token' in body ? 'token' : 'link', source: req.socket.remoteAddress }, 'web sign-in');
    res.setHeader('Set-Cookie', d.auth.sessionCookie(user));
    sendJson(res, 200, me(user));
  });
  http.route('POST', '/api/logout', (req, res) => {
    checkOrigin(req, d.publicOrigin);
    res.setHeader('Set-Cookie', d.auth.clearCookie());
    sendJson(res, 200, { ok: true });
  });
  http.route('GET', '/api/me', (req, res) => sendJson(res, 200, { ...me(d.auth.require(req)), broker: d.brokerId }));

  // Sessions: live (watchers) and recorded (auditors), filtered; `q` searches command text.
  http.route('GET', '/api/sessions', async (req, res) => {
    const user = d.auth.require(req);
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const f = {
      ...opt('user', q.get('user')),
      ...opt('target', q.get('target')),
      ...opt('incident', q.get('incident')),
    };
    const since = dateParam(q.get('since'), false);
    const until = dateParam(q.get('until'), true);
    const text = (q.get('q') ?? '').trim().slice(0, 200);
    const body: { live: unknown[] | null; recorded: unknown[] | null } = { live: null, recorded: null };
    if (can(user, 'live')) {
      const live = await d.store.listSessions({ live: true, ...f, limit: 500 });
      body.live = live.filter((s) => (since === undefined || s.startedAt >= since) && (until === undefined || s.startedAt <= until)).map((s) => liveJson(s, d.isHere(s.id)));
    }
    if (can(user, 'replay')) {
      const rows = await d.store.listRecordings({ ...f, ...(since !== undefined && { since }), ...(until !== undefined && { until }), ...(text !== '' && { commandText: text }), limit: 200 });
      const summary = await d.store.summarizeCommands(
        rows.map((r) => r.sessionId),
        text === '' ? undefined : text,
      );
      // A search matches commands as they are shown, redacted: a guessed secret finds nothing (the
      // index holds command lines redacted; this also covers rows written before it did).
      const needle = text.toLowerCase();
      body.recorded = rows.flatMap((r) => {
        const s = summary.get(r.sessionId);
        const matches = (s?.matches ?? []).filter((c) => show(c.command).toLowerCase().includes(needle));
        return text !== '' && matches.length === 0 ? [] : [recordingJson(r, s?.count ?? 0, matches, show)];
      });
    }
    sendJson(res, 200, body);
  });

  // Read a chunk at a time (recording/cast-stream.ts): the event loop that serves this also relays sessions.
  http.route('GET', '/api/recordings/:id', async (req, res, p) => {
    d.auth.require(req, 'replay');
    const row = await recording(d.store, p.id ?? '');
    const outline = await outlineCast(castText(await openCastFile(await resolveRecording(d.recordingsDir, row.path))));
    const commands = await d.store.listCommands(row.sessionId);
    sendJson(res, 200, {
      recording: recordingJson(row, commands.length, []),
      cols: outline.header.width,
      rows: outline.header.height,
      duration: outline.duration,
      torn: outline.torn,
      markers: outline.markers.map((m) => markerJson(m.time, m.label)),
      commands: commands.map((c) => ({ offset: c.offset, at: new Date(c.at).toISOString(), command: show(c.command), decision: c.decision })),
    });
  });

  // The recording as asciicast v2 for the player. Closed cleanly: the file as it lies (a .gz with
  // Content-Encoding: gzip when the client takes it). Otherwise gunzipped, a torn last line dropped.
  http.route('GET', '/api/recordings/:id/cast', async (req, res, p) => {
    d.auth.require(req, 'replay');
    const row = await recording(d.store, p.id ?? '');
    const file = await openCastFile(await resolveRecording(d.recordingsDir, row.path));
    const whole = closedWhole(row);
    const headers = { 'Content-Type': 'application/x-asciicast; charset=utf-8', 'Cache-Control': 'no-store', Vary: 'Accept-Encoding' };
    if (whole && (!file.gzip || acceptsGzip(req.headers['accept-encoding']))) {
      res.writeHead(200, { ...headers, 'Content-Length': file.size, ...(file.gzip && { 'Content-Encoding': 'gzip' }) });
      await quietly(pipeline(file.raw, res));
    } else {
      res.writeHead(200, headers);
      await quietly(pipeline(castText(file, !whole), res));
    }
  });

  http.route('POST', '/api/sessions/:id/kill', async (req, res, p) => {
    checkOrigin(req, d.publicOrigin);
    const user = d.auth.require(req, 'kill');
    const body = parse(z.strictObject({ reason: z.string().max(1_000) }), await readJson(req));
    const s = await killSession(d, { user, source: `web:${req.socket.remoteAddress ?? '?'}` }, p.id ?? '', body.reason);
    sendJson(res, 200, liveJson(s, d.isHere(s.id)));
  });

  http.upgrade('/api/sessions/:id/live', liveUpgrade(d, (req) => checkOrigin(req, d.publicOrigin)));
}

async function recording(store: Store, id: string): Promise<RecordingRow> {
  const row = id.length <= 64 ? await store.getRecording(id) : undefined;
  if (row === undefined) throw new GatehouseError('GH_ERR_RECORDING_NOT_FOUND', `no recording for session ${id}`);
  return row;
}

function me(user: { name: string; roles: readonly string[] } & Parameters<typeof can>[0]): Record<string, unknown> {
  return { user: user.name, roles: user.roles, can: { live: can(user, 'live'), kill: can(user, 'kill'), replay: can(user, 'replay') } };
}

const opt = <K extends string>(key: K, v: string | null): Partial<Record<K, string>> => (v !== null && v.trim() !== '' ? ({ [key]: v.trim().slice(0, 64) } as Record<K, string>) : {});

/** A client that leaves mid-download is not a failure of ours. */
async function quietly(sent: Promise<void>): Promise<void> {
  await sent.catch((err: unknown) => {
    if ((err as { code?: unknown }).code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
}

/** Accept-Encoding names gzip (or `*`) without `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((x) => x.startsWith('q='));
    return (name === 'gzip' || name === 'x-gzip' || name === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

/** `2026-11-25` or an ISO time; a bare date as `until` means the end of that day (UTC). */
function dateParam(v: string | null, end: boolean): number | undefined {
  if (v === null || v.trim() === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new GatehouseError('GH_ERR_BAD_INPUT', `not a date: ${JSON.stringify(v.slice(0, 40))}`);
  return end && /^\d{4}-\d{2}-\d{2}$/.test(v.trim()) ? t + 86_400_000 - 1 : t;
}

/** The UI's address when web.publicUrl is not set: the listener's, with a wildcard host replaced by this host's name. */
export function defaultWebUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(302, { Location: to, 'Cache-Control': 'no-store', 'Content-Length': 0 });
  res.end();
}

/**
 * A browser sends Origin on cross-origin requests and on every POST and WebSocket handshake; it
 * must be this UI's origin. (A client that sends none — curl — is not a browser being abused.)
 */
export function checkOrigin(req: IncomingMessage, configured: string | undefined): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const expected = configured ?? `http://${req.headers.host ?? ''}`;
  if (origin !== expected) throw new GatehouseError('GH_ERR_FORBIDDEN', `cross-origin request from ${origin} refused`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new GatehouseError('GH_ERR_BAD_INPUT', 'expected a JSON body (Content-Type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new GatehouseError('GH_ERR_BAD_INPUT', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new GatehouseError('GH_ERR_BAD_INPUT', 'the body is not valid JSON');
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new GatehouseError('GH_ERR_BAD_INPUT', r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}
