/**
 * The Message Gateway Service stand-in: the data-channel WebSocket at /v1/data-channel/<session>.
 * It insists on the open-data-channel text message with a token issued for that session (each
 * token opens one socket), then relays binary frames between the client and the session's agent,
 * through the fault injectors. Signed and unsigned upgrades are both accepted (spec §3).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { systemTimers } from '../clock.js';
import { decodeAgentMessage } from '../codec.js';
import { parseOpenDataChannel } from '../messages.js';
import type { AgentLink } from './agent.js';
import { FaultyPipe } from './faults.js';
import type { SimContext, SimSession } from './state.js';

const PATH_RE = /^\/v1\/data-channel\/([A-Za-z0-9_.-]+)$/;
/** MGS close codes are not public (spec §12); 1008 "policy violation" stands in. */
const CLOSE_POLICY = 1008;
const OPEN_TIMEOUT_MS = 10_000;

export interface DataChannelServer {
  /** Abruptly drops the data-channel sockets (of one session, or all). */
  dropConnections(sessionId?: string): number;
  close(): Promise<void>;
}

function isOutputStreamFrame(frame: Buffer): boolean {
  return frame.length > 4 && frame[4] === 0x6f; // "o"utput_stream_data
}

/** The SequenceNumber field (int64 at offset 48; our sequence numbers fit in 53 bits). */
function sequenceOf(frame: Buffer): number {
  return frame.readUInt32BE(48) * 2 ** 32 + frame.readUInt32BE(52);
}

export function attachDataChannelServer(server: Server, ctx: SimContext): DataChannelServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const live = new Map<WebSocket, string>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const match = PATH_RE.exec(url.pathname);
    if (match?.[1] === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const sessionId = match[1];
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, sessionId));
  });

  function onConnection(ws: WebSocket, sessionId: string): void {
    live.set(ws, sessionId);
    const openTimer = setTimeout(() => ws.close(CLOSE_POLICY, 'no open message'), OPEN_TIMEOUT_MS);
    openTimer.unref();
    let relay: ((data: Buffer) => void) | null = null;
    let teardown: () => void = () => {};
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(openTimer);
      live.delete(ws);
      teardown();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (relay !== null) {
        relay(data);
        return;
      }
      clearTimeout(openTimer);
      const session = ctx.sessions.get(sessionId);
      let token: string;
      try {
        if (isBinary) throw new Error('the first frame must be the open-data-channel text message');
        token = parseOpenDataChannel(data.toString('utf8')).tokenValue;
      } catch (err) {
        ws.close(CLOSE_POLICY, (err as Error).message.slice(0, 100));
        return;
      }
      if (session === undefined || session.state !== 'active' || !session.tokens.delete(token)) {
        ws.close(CLOSE_POLICY, 'invalid or expired token');
        return;
      }
      session.connects++;
      const wired = wire(ws, session);
      relay = wired.relay;
      teardown = wired.teardown;
      ctx.events.emit('connect', { sessionId, resumed: session.connects > 1 });
    });
  }

  function wire(ws: WebSocket, session: SimSession): { relay: (data: Buffer) => void; teardown: () => void } {
    const base = (ctx.faults.seed * 1_000_003 + session.index * 7919 + session.connects * 2) >>> 0;
    const toClient = new FaultyPipe(ctx.faults, base, (f) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(f);
    }, systemTimers, session.faults);
    const toAgent = new FaultyPipe(ctx.faults, base + 1, (f) => {
      try {
        session.agent.receive(decodeAgentMessage(f));
      } catch {
        // The agent drops frames it cannot parse; it never checks digests.
      }
    }, systemTimers, session.faults);
    const link: AgentLink = {
      send(frame, faultable) {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (!faultable) {
          ws.send(frame);
          return;
        }
        if (isOutputStreamFrame(frame)) {
          if (sequenceOf(frame) === ctx.faults.loseOutputSeq) {
            session.faults.dropped++;
            return;
          }
          session.streamFramesOut++;
          const after = ctx.faults.dropSocketAfterFrames;
          if (after > 0 && !session.socketDropDone && session.streamFramesOut >= after) {
            session.socketDropDone = true;
            session.faults.socketDrops++;
            ws.terminate();
            return;
          }
        }
        toClient.push(frame, true);
      },
      close() {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      },
    };
    session.agent.attach(link);
    return {
      relay: (data) => toAgent.push(data, false),
      teardown: () => {
        toClient.discard();
        toAgent.discard();
        session.agent.detach(link);
      },
    };
  }

  return {
    dropConnections(sessionId) {
      let n = 0;
      for (const [ws, id] of live) {
        if (sessionId === undefined || id === sessionId) {
          ws.terminate();
          n++;
        }
      }
      return n;
    },
    close() {
      for (const ws of live.keys()) ws.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
