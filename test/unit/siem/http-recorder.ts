/** A local HTTP(S) server that records every request and answers as the test scripts it. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Scope } from '../../fixtures/resources.js';

export interface Req {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The status the server answered with. */
  status?: number;
}

export async function recorder(scope: Scope, respond: (req: Req, n: number) => [number, Record<string, string>?] = () => [200], server: Server = createServer()): Promise<{ port: number; requests: Req[] }> {
  const requests: Req[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Req = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      const [status, headers] = respond(r, requests.length);
      r.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(status < 300 ? '{"text":"Success","code":0}' : '{"text":"nope"}');
    });
  });
  scope.defer(() => new Promise<void>((r) => (server.closeAllConnections?.(), server.close(() => r()))));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { port, requests };
}
