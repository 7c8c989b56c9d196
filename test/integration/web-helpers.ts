/** Shared by the web-*.test.ts files: a broker with the HTTP listener, and HTTP / WebSocket clients. */
import { request } from 'node:http';
import WebSocket from 'ws';
import { startHarness, type Harness, type HarnessOptions } from '../fixtures/harness.js';
import type { Scope } from '../fixtures/resources.js';

export async function webHarness(scope: Scope, opts: HarnessOptions = {}): Promise<Harness & { base: string; origin: string }> {
  const h = await startHarness(scope, { ...opts, extra: { listen: { ssh: '127.0.0.1:0', grpc: '127.0.0.1:0', http: '127.0.0.1:0' }, ...opts.extra } });
  const base = `http://127.0.0.1:${String(h.broker.ports.http)}`;
  return Object.assign(h, { base, origin: base });
}

export interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export function http(base: string, method: string, path: string, o: { cookie?: string; body?: unknown; origin?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const r = request(`${base}${path}`, {
      method,
      headers: {
        ...(o.cookie && { Cookie: o.cookie }),
        ...(o.origin && { Origin: o.origin }),
        ...(body !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }),
        ...o.headers,
      },
    });
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Signs in with the user's API token; returns the Cookie header value. */
export async function login(h: Harness & { base: string }, user: string): Promise<string> {
  const res = await http(h.base, 'POST', '/api/login', { body: { token: h.users[user]?.token } });
  if (res.status !== 200) throw new Error(`login ${user}: ${res.status} ${res.text}`);
  return cookieOf(res);
}

export function cookieOf(res: Res): string {
  const set = res.headers['set-cookie'];
  const first = (Array.isArray(set) ? set[0] : set) ?? '';
  return first.split(';')[0] ?? '';
}

export interface LiveClient {
  readonly ws: WebSocket;
  /** Text frames as parsed JSON; binary (output) frames as {type: 'output', text}. */
  readonly frames: (Record<string, unknown> & { type: string })[];
  output(): string;
  waitFor(pred: () => boolean, ms?: number, what?: string): Promise<void>;
}

/** The live WebSocket, as the browser opens it (cookie + Origin). Resolves when open, rejects with the HTTP status when refused. */
export function live(scope: Scope, h: { base: string; origin: string }, id: string, o: { cookie?: string; origin?: string | null } = {}): Promise<LiveClient> {
  const ws = new WebSocket(`${h.base.replace('http', 'ws')}/api/sessions/${id}/live`, {
    headers: { ...(o.cookie && { Cookie: o.cookie }) },
    ...(o.origin !== null && { origin: o.origin ?? h.origin }),
  });
  scope.defer(() => ws.terminate());
  const frames: LiveClient['frames'] = [];
  ws.on('message', (data, binary) => {
    if (binary) frames.push({ type: 'output', text: (data as Buffer).toString('utf8') });
    else frames.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown> & { type: string });
  });
  const client: LiveClient = {
    ws,
    frames,
    output: () => frames.map((f) => (f.type === 'output' ? String(f.text) : f.type === 'snapshot' ? String(f.data) : '')).join(''),
    async waitFor(pred, ms = 5_000, what = 'condition') {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames).slice(-1500)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', (err) => reject(err));
  });
}
