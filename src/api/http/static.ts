/**
 * The built web UI (web-player/dist, made by `npm run build`): two HTML entry points (login.html,
 * index.html) and hashed assets. HTML goes out with a strict Content-Security-Policy and no-store;
 * assets are immutable. A checkout without a built UI answers with a page that says how to build it.
 *
 * The CSP: scripts only from this origin, no inline script, no eval ('wasm-unsafe-eval' only:
 * asciinema-player's terminal is WebAssembly); connections only to this origin (fetch and the live
 * WebSocket); no framing. Inline *styles* are allowed: xterm.js and asciinema-player set element
 * styles from script, which is not a script-injection vector.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_DIST = fileURLToPath(new URL('../../../web-player/dist', import.meta.url));

export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
};

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export class StaticFiles {
  private readonly cache = new Map<string, Buffer | null>();

  constructor(private readonly dist: string = DEFAULT_DIST) {}

  /** An HTML entry point (index.html, login.html). */
  async page(res: ServerResponse, name: 'index.html' | 'login.html', status = 200): Promise<void> {
    const body = await this.read(name);
    if (body === null) return notBuilt(res);
    res.writeHead(status, { 'Content-Type': TYPES['.html'] as string, 'Content-Length': body.length, 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' });
    res.end(body);
  }

  /** A file under assets/ (or the top level for favicons). Returns false when there is none. */
  async asset(res: ServerResponse, dir: 'assets' | '', name: string): Promise<boolean> {
    if (!SAFE_NAME.test(name) || name.endsWith('.html')) return false;
    const body = await this.read(dir === '' ? name : `${dir}/${name}`);
    if (body === null) return false;
    const type = TYPES[extname(name)] ?? 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': dir === 'assets' ? 'public, max-age=31536000, immutable' : 'public, max-age=3600' });
    res.end(body);
    return true;
  }

  private async read(rel: string): Promise<Buffer | null> {
    if (this.cache.has(rel)) return this.cache.get(rel) as Buffer | null;
    const body = await readFile(join(this.dist, rel)).catch(() => null);
    // Only hits are cached: a UI built while the broker runs is picked up.
    if (body !== null) this.cache.set(rel, body);
    return body;
  }
}

/** A page in the UI's style saying the UI is not built (no script, so the CSP is trivially met). */
export function htmlMessage(res: ServerResponse, status: number, title: string, text: string): void {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = Buffer.from(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gatehouse — ${esc(title)}</title></head>` +
      `<body style="background:#0d1117;color:#c9d1d9;font:14px ui-monospace,monospace;padding:2rem"><h1 style="font-size:1.1rem">${esc(title)}</h1><p>${esc(text)}</p></body></html>`,
  );
  res.writeHead(status, { 'Content-Type': TYPES['.html'] as string, 'Content-Length': body.length, 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", 'X-Frame-Options': 'DENY' });
  res.end(body);
}

function notBuilt(res: ServerResponse): void {
  htmlMessage(res, 503, 'The web UI is not built', 'This broker runs from a checkout without web-player/dist. Run `npm run build` (TypeScript and the Vite build of web-player/) and reload.');
}
