/**
 * The broker's HTTP listener: /healthz, /metrics, and (api/http/routes) the web UI and its API.
 * Small router, no framework: every route declares its method and handler; anything else is 404.
 * Errors never escape a handler: they become a JSON error with the GatehouseError's status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { asGatehouseError, type ErrorCode } from '../../domain/errors.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void> | void;
/** A WebSocket (or other) upgrade; errors it throws are answered with their HTTP status. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, params: Record<string, string>) => Promise<void> | void;

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly keys: readonly string[];
  readonly handler: Handler;
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  GH_ERR_BAD_INPUT: 400,
  GH_ERR_UNAUTHENTICATED: 401,
  GH_ERR_FORBIDDEN: 403,
  GH_ERR_SESSION_NOT_FOUND: 404,
  GH_ERR_RECORDING_NOT_FOUND: 404,
  GH_ERR_GRANT_NOT_FOUND: 404,
  GH_ERR_SESSION_STATE: 409,
  GH_ERR_CONFLICT: 409,
  GH_ERR_STORE: 503,
  GH_ERR_UNAVAILABLE: 503,
};

export function httpStatus(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

export class HttpServer {
  readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly upgrades: { readonly pattern: RegExp; readonly keys: readonly string[]; readonly handler: UpgradeHandler }[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(private readonly log: Logger) {
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.dispatchUpgrade(req, socket, head));
  }

  /** Registers an upgrade route (WebSocket); anything else asking to upgrade gets 404. */
  upgrade(path: string, handler: UpgradeHandler): this {
    const { pattern, keys } = compile(path);
    this.upgrades.push({ pattern, keys, handler });
    return this;
  }

  private async dispatchUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const u of this.upgrades) {
      const m = u.pattern.exec(url.pathname);
      if (m === null) continue;
      const params: Record<string, string> = {};
      u.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? '')));
      try {
        await u.handler(req, socket, head, params);
      } catch (err) {
        const e = asGatehouseError(err);
        if (e.code === 'GH_ERR_INTERNAL') this.log.error({ err, path: url.pathname }, 'upgrade handler failed');
        refuseUpgrade(socket, httpStatus(e.code), e.code === 'GH_ERR_INTERNAL' ? 'internal error' : e.message);
      }
      return;
    }
    refuseUpgrade(socket, 404, 'no such route');
  }

  /** Registers a route; `:name` segments become params. */
  route(method: string, path: string, handler: Handler): this {
    const { pattern, keys } = compile(path);
    this.routes.push({ method, pattern, keys, handler });
    return this;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    for (const r of this.routes) {
      if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) continue;
      const m = r.pattern.exec(url.pathname);
      if (m === null) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? '')));
      try {
        await r.handler(req, res, params);
      } catch (err) {
        const e = asGatehouseError(err);
        if (e.code === 'GH_ERR_INTERNAL') this.log.error({ err, path: url.pathname }, 'http handler failed');
        if (!res.headersSent) sendJson(res, httpStatus(e.code), { error: e.code, message: e.code === 'GH_ERR_INTERNAL' ? 'internal error' : e.message });
        else res.destroy();
      }
      return;
    }
    sendJson(res, 404, { error: 'not_found', message: 'no such route' });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const pattern = new RegExp(`^${path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)'))}$`);
  return { pattern, keys };
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: status, message });
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 503: 'Service Unavailable' };

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
