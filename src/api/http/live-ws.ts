/**
 * The live view's WebSocket: GET /api/sessions/:id/live, upgraded only for a signed-in watcher or
 * admin whose browser sends this UI's Origin (no cross-site WebSocket hijacking), and only for a
 * session that is live on this broker.
 *
 * Frames, server to browser (the browser sends nothing; anything it sends closes the socket):
 *   text   {"type":"hello","session":{...}}               first
 *   text   {"type":"snapshot","cols":C,"rows":R,"data":S}  the current screen; again after a resync
 *   binary UTF-8 output, in order
 *   text   {"type":"resize","cols":C,"rows":R}
 *   text   {"type":"end","reason":"killed"}                then close 1000
 */
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatehouseError } from '../../domain/errors.js';
import type { LiveHub } from '../../recording/live.js';
import type { Store } from '../../store/ports.js';
import type { WebAuth } from './auth.js';
import type { UpgradeHandler } from './server.js';
import { liveJson } from './wire.js';

export interface LiveWsDeps {
  readonly auth: WebAuth;
  readonly store: Store;
  readonly live: LiveHub;
  readonly isHere: (sessionId: string) => boolean;
}

export function liveUpgrade(d: LiveWsDeps, checkOrigin: (req: IncomingMessage) => void): UpgradeHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  return async (req, socket, head, params) => {
    if (req.headers.origin === undefined) throw new GatehouseError('GH_ERR_FORBIDDEN', 'a browser WebSocket must send Origin');
    checkOrigin(req);
    d.auth.require(req, 'live');
    const id = params.id ?? '';
    const s = id.length <= 64 ? await d.store.getSession(id) : undefined;
    if (s === undefined) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', `no session ${id}`);
    if (s.state !== 'live') throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${id} has ended (${s.endReason ?? 'unknown'})`);
    if (!d.isHere(id)) throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${id} is held by broker ${s.broker}; watch it there`);
    wss.handleUpgrade(req, socket, head, (ws) => serve(d, ws, id, s));
  };
}

function serve(d: LiveWsDeps, ws: WebSocket, id: string, s: Parameters<typeof liveJson>[0]): void {
  let closed = false;
  const close = (code: number, reason: string): void => {
    if (closed) return;
    closed = true;
    ws.close(code, reason.slice(0, 120));
  };
  ws.send(JSON.stringify({ type: 'hello', session: liveJson(s, true) }));
  let watch: { close(): void } | null = null;
  try {
    watch = d.live.watch(id, {
      snapshot: (data, cols, rows) => ws.send(JSON.stringify({ type: 'snapshot', cols, rows, data })),
      output: (text) => ws.send(Buffer.from(text, 'utf8'), { binary: true }),
      resize: (cols, rows) => ws.send(JSON.stringify({ type: 'resize', cols, rows })),
      end: (reason) => {
        if (closed) return;
        ws.send(JSON.stringify({ type: 'end', reason }));
        close(1000, 'session ended');
      },
      get buffered() {
        return ws.bufferedAmount;
      },
    });
  } catch (err) {
    ws.send(JSON.stringify({ type: 'end', reason: (err as Error).message }));
    close(1011, 'cannot watch');
    return;
  }
  ws.on('message', () => close(1008, 'the live view is read-only'));
  ws.on('error', () => {});
  ws.on('close', () => {
    closed = true;
    watch?.close();
  });
}
