/** A loopback TCP proxy that records when each proxied connection closes (to time "socket closed"). */
import { connect, createServer, type Socket } from 'node:net';
import type { Scope } from '../../test/fixtures/resources.js';

export interface Proxy {
  readonly port: number;
  /** Connections currently open. */
  readonly open: number;
  /** Date.now() at each upstream-side close, in order. */
  readonly closed: number[];
}

export async function tcpProxy(scope: Scope, target: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const state = { open: 0, closed: [] as number[] };
  const server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect(target, '127.0.0.1');
    upstream.setNoDelay(true);
    state.open++;
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      state.open--;
      state.closed.push(Date.now());
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close).on('end', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  scope.defer(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    get open() {
      return state.open;
    },
    closed: state.closed,
  };
}
