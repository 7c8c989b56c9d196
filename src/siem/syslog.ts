/**
 * Syslog sink: RFC 5424 messages (rfc5424.ts) in RFC 6587 octet-counting frames over one
 * persistent TCP or TLS connection, reconnected on failure.
 *
 * What it guarantees, exactly. TCP acknowledges bytes to the kernel, not to the syslog daemon's
 * disk, and plain syslog has no application acknowledgement. So:
 *   1. `deliver` resolves once the batch's bytes are handed to the kernel on a live connection;
 *      only then does the worker move the sink's cursor. A batch whose write fails is retried
 *      whole (by the worker, with backoff) on a new connection.
 *   2. The sink remembers what it wrote on the current connection during the last `resendWindowMs`
 *      (default 10 s, at most `resendMax` = 20,000 frames). When that connection errors or the
 *      server closes it — a daemon restarting, a crash, a reset — those frames are written again,
 *      first and in order, on the next connection. A server that goes away therefore loses nothing
 *      it was sent in the window before the failure was noticed; the repeats carry the same `id`.
 *   3. A TLS 1.3 connection counts as open once it has stayed up `tlsSettleMs` after the
 *      handshake (the server refuses a client certificate only then): see connect().
 *   4. Limits, stated plainly: a server that acknowledged bytes at TCP level and lost them later
 *      (crashed with an in-memory queue), or a connection that stays silent for longer than the
 *      window before failing, can lose events. For that, give the daemon a disk-assisted queue,
 *      or use the http sink (HTTP status = application acknowledgement) or the gRPC WatchEvents
 *      pull stream (the consumer keeps its own position).
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AuditEvent } from '../events/types.js';
import { formatCef } from './cef.js';
import { toOcsf } from './ocsf.js';
import { formatRfc5424, frame, type Rfc5424Options } from './rfc5424.js';
import type { Sink } from './types.js';

export interface ClientTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
  /** Skip server certificate verification (lab use; logged loudly at start). */
  readonly insecure?: boolean;
}

export interface SyslogSinkOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: ClientTls | null;
  readonly format: 'json' | 'cef' | 'ocsf';
  readonly rfc5424: Rfc5424Options;
  readonly version: string;
  readonly accepts: (e: AuditEvent) => boolean;
  readonly connectTimeoutMs?: number;
  readonly resendWindowMs?: number;
  readonly resendMax?: number;
  /** TLS 1.3: how long a new connection must stay up before it counts as accepted (see connect). */
  readonly tlsSettleMs?: number;
  readonly log?: Logger;
  readonly now?: () => number;
}

export class SyslogSink implements Sink {
  readonly name: string;
  readonly accepts: (e: AuditEvent) => boolean;
  private socket: Socket | null = null;
  /** Frames written on the current connection, with when. */
  private recent: { at: number; frame: Buffer }[] = [];
  /** Frames to write again, first, on the next connection. */
  private resend: Buffer[] = [];
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: SyslogSinkOptions) {
    this.name = o.name;
    this.accepts = o.accepts;
    this.now = o.now ?? Date.now;
  }

  /** Frames waiting to be written again (for tests and metrics). */
  get pendingResend(): number {
    return this.resend.length;
  }

  format(e: AuditEvent): string {
    const body = this.o.format === 'cef' ? formatCef(e, this.o.version) : JSON.stringify(this.o.format === 'ocsf' ? toOcsf(e, this.o.version) : e);
    return formatRfc5424(e, body, this.o.rfc5424);
  }

  async deliver(batch: readonly AuditEvent[]): Promise<void> {
    const frames = batch.map((e) => frame(this.format(e)));
    const socket = this.socket ?? (await this.connect());
    const again = this.resend;
    await write(socket, Buffer.concat([...again, ...frames]));
    if (this.resend === again) this.resend = [];
    if (this.socket !== socket) {
      // The connection died after the kernel took the bytes but before we returned: treat them as lost.
      throw new Error('syslog connection closed during the write');
    }
    const at = this.now();
    for (const f of [...again, ...frames]) this.recent.push({ at, frame: f });
    this.prune(at);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
  }

  private prune(now: number): void {
    const window = this.o.resendWindowMs ?? 10_000;
    const max = this.o.resendMax ?? 20_000;
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop] as { at: number }).at < now - window) drop++;
    drop = Math.max(drop, this.recent.length - max);
    if (drop > 0) this.recent = this.recent.slice(drop);
  }

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error('sink closed'));
    const { host, port, tls } = this.o;
    const timeout = this.o.connectTimeoutMs ?? 5_000;
    return new Promise<Socket>((resolve, reject) => {
      const socket: Socket = tls
        ? tlsConnect({
            host,
            port,
            ...(tls.ca && { ca: tls.ca }),
            ...(tls.cert && { cert: tls.cert }),
            ...(tls.key && { key: tls.key }),
            // SNI takes host names only (RFC 6066); an IP address is still checked against the certificate.
            ...((tls.servername ?? (isIP(host) === 0 ? host : undefined)) !== undefined && { servername: tls.servername ?? host }),
            rejectUnauthorized: tls.insecure !== true,
          })
        : netConnect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out after ${timeout} ms`)), timeout);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', fail);
      const ready = (): void => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', closed);
        socket.setKeepAlive(true, 15_000);
        socket.setNoDelay(true);
        this.adopt(socket);
        resolve(socket);
      };
      const closed = (): void => fail(new Error(`${host}:${port} closed the connection right after the TLS handshake (did it refuse our client certificate?)`));
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        // In TLS 1.3 the server verifies the client's certificate after the client has finished
        // its handshake: a refusal comes as an alert right after. Writing before it arrives would
        // count events as delivered that the server drops, so wait for it to have had the chance.
        if (tls === null || (socket as TLSSocket).getProtocol() !== 'TLSv1.3') return ready();
        socket.once('close', closed);
        socket.on('data', () => {});
        setTimeout(() => {
          if (!socket.destroyed) ready();
        }, this.o.tlsSettleMs ?? 250);
      });
    });
  }

  /** Watches a live connection: any end of it moves the recent frames to the resend list. */
  private adopt(socket: Socket): void {
    this.socket = socket;
    let lost = false;
    const lose = (why: string, err?: Error): void => {
      if (lost) return;
      lost = true;
      if (this.socket === socket) this.socket = null;
      socket.destroy();
      this.prune(this.now());
      const frames = this.recent.map((r) => r.frame);
      this.recent = [];
      const max = this.o.resendMax ?? 20_000;
      this.resend = [...this.resend, ...frames].slice(-max);
      if (!this.closed) this.o.log?.warn({ sink: this.name, why, err: err?.message, resend: this.resend.length }, 'syslog connection lost; unconfirmed events will be sent again');
    };
    socket.on('error', (err) => lose('error', err));
    socket.on('end', () => lose('the server closed the connection'));
    socket.on('close', () => lose('closed'));
    // A syslog server never talks back; read and discard so 'end' is seen.
    socket.on('data', () => {});
  }
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('syslog connection is closed'));
    const onClose = (): void => reject(new Error('syslog connection closed before the write completed'));
    socket.once('close', onClose);
    socket.write(data, (err) => {
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}
