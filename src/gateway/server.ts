/**
 * The SSH listener. We own the TCP socket (net.Server + ssh2's injectSocket) so that a client that
 * connects and then stalls — before or during the handshake, or in authentication — is cut off at
 * the login grace time, like sshd's LoginGraceTime; ssh2 alone has no such bound.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type CipherAlgorithm } from 'ssh2';

import { ConnectionContext } from './connection.js';
import type { GatewayServices } from './services.js';

const SshServer = ssh2.Server;

/**
 * The client picks the first of ITS ciphers that the server offers, and OpenSSH lists
 * chacha20-poly1305 and AES-CTR before AES-GCM. Offering only AES-GCM steers every OpenSSH ≥ 6.2
 * client to it: AEAD, and with AES-NI it costs the broker about a tenth less CPU per byte than
 * chacha20 (bench/RESULTS.md). `ssh.ciphers` in the config widens it for unusual clients.
 */
export const DEFAULT_CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'] as const;

export interface GatewayOptions {
  readonly hostKeys: readonly Buffer[];
  /** Ciphers offered to clients (default DEFAULT_CIPHERS). */
  readonly ciphers?: readonly string[];
  readonly loginGraceTimeMs: number;
  /** Most simultaneous unauthenticated connections (a cheap guard against floods). */
  readonly maxUnauthenticated?: number;
}

interface RawState {
  readonly socket: Socket;
  timer: NodeJS.Timeout | null;
  conn: ConnectionContext | null;
}

export class SshGateway {
  private readonly ssh: InstanceType<typeof SshServer>;
  private readonly net: NetServer;
  private readonly raw = new Map<string, RawState>();
  private unauthenticated = 0;

  constructor(
    private readonly svc: GatewayServices,
    private readonly opts: GatewayOptions,
  ) {
    this.ssh = new SshServer({ hostKeys: [...opts.hostKeys], ident: 'Gatehouse', algorithms: { cipher: [...(opts.ciphers ?? DEFAULT_CIPHERS)] as CipherAlgorithm[] } });
    this.ssh.on('error', (err: Error) => svc.log.warn({ err: err.message }, 'ssh server error'));
    this.ssh.on('connection', (client, info) => {
      const key = `${info.ip}|${info.port}`;
      const state = this.raw.get(key);
      const services: GatewayServices = {
        ...svc,
        createSession: svc.createSession,
        onAuthenticated: (c) => {
          if (state?.timer) {
            clearTimeout(state.timer);
            state.timer = null;
            this.unauthenticated--;
          }
          svc.onAuthenticated(c);
        },
      };
      const conn = new ConnectionContext(client, `${info.ip}:${info.port}`, services);
      if (state) state.conn = conn;
    });
    this.net = createServer((socket) => this.accept(socket));
    this.net.on('error', (err) => svc.log.error({ err }, 'ssh listener error'));
  }

  private accept(socket: Socket): void {
    const key = `${socket.remoteAddress}|${socket.remotePort}`;
    if (this.unauthenticated >= (this.opts.maxUnauthenticated ?? 256)) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.on('error', () => {});
    this.unauthenticated++;
    const state: RawState = {
      socket,
      conn: null,
      timer: setTimeout(() => {
        state.timer = null;
        this.unauthenticated--;
        state.conn?.refused('GH_ERR_UNAUTHENTICATED', `login grace time (${this.opts.loginGraceTimeMs} ms) exceeded`);
        socket.destroy();
      }, this.opts.loginGraceTimeMs),
    };
    state.timer?.unref();
    this.raw.set(key, state);
    socket.once('close', () => {
      if (state.timer) {
        clearTimeout(state.timer);
        this.unauthenticated--;
      }
      this.raw.delete(key);
    });
    this.ssh.injectSocket(socket);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        const addr = this.net.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /** Stops accepting new connections; existing ones go on until the caller ends their sessions. */
  stopAccepting(): Promise<void> {
    if (!this.net.listening) return Promise.resolve();
    this.net.close();
    return Promise.resolve();
  }

  /** Stops accepting and drops every connection (after sessions were ended with reason `shutdown`). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const { socket } of this.raw.values()) socket.destroy();
    await closed;
  }

  /** Closes connections that hold no session any more (after a shutdown ended them). */
  destroyAll(): void {
    for (const { socket } of this.raw.values()) socket.destroy();
  }
}
