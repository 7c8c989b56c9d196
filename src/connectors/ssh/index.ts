/**
 * The `ssh` connector: an ssh2 Client to the target's sshd, authenticating with the target's
 * private key and pinning its host key from the inventory. A host key other than the pinned one
 * ends the attempt before authentication — no credentials are offered to an impostor.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';

import { GatehouseError } from '../../domain/errors.js';
import type { SshTargetSpec, Target } from '../../domain/types.js';
import type { Connector, OpenRequest, Tunnel, Upstream, UpstreamSink } from '../types.js';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SshConnectorOptions {
  /** Connect + handshake bound. */
  readonly readyTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
}

const CLOSE_GRACE_MS = 1_000;

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

function pinnedKey(spec: SshTargetSpec): Buffer {
  const parsed = utils.parseKey(spec.hostKey);
  if (parsed instanceof Error) throw new GatehouseError('GH_ERR_CONFIG', `pinned host key for ${spec.host} cannot be parsed: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined) throw new GatehouseError('GH_ERR_CONFIG', `no pinned host key for ${spec.host}`);
  return key.getPublicSSH();
}

export function createSshConnector(opts: SshConnectorOptions = {}): Connector {
  return {
    kind: 'ssh',
    async open(req: OpenRequest, sink: UpstreamSink): Promise<Upstream> {
      const client = await connectTarget(req.target, req.signal, opts);
      let channel: ClientChannel;
      try {
        channel = await openChannel(client, req);
      } catch (err) {
        client.end();
        throw err;
      }
      return wire(client, channel, sink);
    },
    async tunnel(target: Target, signal: AbortSignal): Promise<Tunnel> {
      return tunnelOver(await connectTarget(target, signal, opts));
    },
  };
}

/**
 * An authenticated ssh2 Client to the target: its private key, and its host key pinned from the
 * inventory. Every upstream connection (sessions and forwarding tunnels) comes from here.
 */
async function connectTarget(target: Target, signal: AbortSignal, opts: SshConnectorOptions): Promise<Client> {
  const spec = target.ssh;
  if (spec === undefined) throw new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `target ${target.name} is not an ssh target`);
  const expected = pinnedKey(spec);
  let privateKey: Buffer;
  try {
    privateKey = await readFile(spec.privateKeyFile);
  } catch (err) {
    throw new GatehouseError('GH_ERR_UPSTREAM_AUTH', `cannot read the key for ${target.name}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const client = new Client();
  let presented: Buffer | null = null;
  const config: ConnectConfig = {
    host: spec.host,
    port: spec.port,
    username: spec.user,
    privateKey,
    readyTimeout: opts.readyTimeoutMs ?? 15_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      presented = key;
      return key.equals(expected);
    },
  };
  await connect(client, config, signal, () =>
    presented !== null && !presented.equals(expected)
      ? new GatehouseError('GH_ERR_HOST_KEY_MISMATCH', `host key mismatch for ${target.name} (${spec.host}:${spec.port}): expected ${fingerprint(expected)}, got ${fingerprint(presented)}; refusing to connect`, {
          expected: fingerprint(expected),
          presented: fingerprint(presented),
        })
      : null,
  );
  return client;
}

/** Local port forwarding over one client: each `forward` is a direct-tcpip channel. */
function tunnelOver(client: Client): Tunnel {
  let usable = true;
  let closed = false;
  const gone = (): void => {
    usable = false;
  };
  client.on('close', gone);
  client.on('error', gone);
  return {
    get usable() {
      return usable;
    },
    forward: (host, port) =>
      new Promise<Duplex>((resolve, reject) => {
        if (!usable) return reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'the connection to the target is gone'));
        try {
          // The originator address is the broker's business, not the client's claim: 127.0.0.1:0.
          client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => {
            if (err) reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `the target could not open ${host}:${port}: ${err.message}`));
            else resolve(ch);
          });
        } catch (err) {
          gone();
          reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `the connection to the target is gone: ${(err as Error).message}`));
        }
      }),
    close() {
      if (closed) return;
      closed = true;
      gone();
      client.end();
      setTimeout(() => client.destroy(), CLOSE_GRACE_MS).unref();
    },
  };
}

function connect(client: Client, config: ConnectConfig, signal: AbortSignal, mismatch: () => GatehouseError | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      client.destroy();
      reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'session ended while connecting'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    client.once('error', (err: Error & { level?: string }) => {
      signal.removeEventListener('abort', onAbort);
      const hk = mismatch();
      if (hk) return reject(hk);
      if (err.level === 'client-authentication') return reject(new GatehouseError('GH_ERR_UPSTREAM_AUTH', `the target refused the broker's key (${config.username}@${config.host})`));
      reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `cannot reach ${config.host}:${config.port}: ${err.message}`));
    });
    client.connect(config);
  });
}

function openChannel(client: Client, req: OpenRequest): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | undefined, ch: ClientChannel): void => {
      if (err) reject(new GatehouseError('GH_ERR_UPSTREAM_CONNECT', `the target refused the channel: ${err.message}`));
      else resolve(ch);
    };
    const pty = req.pty && { term: req.pty.term, cols: req.pty.cols, rows: req.pty.rows, width: 0, height: 0 };
    const env = { ...req.env };
    if (req.subsystem !== undefined) client.subsys(req.subsystem, done);
    else if (req.command !== undefined) client.exec(req.command, pty ? { pty, env } : { env }, done);
    else client.shell(pty ?? false, { env }, done);
  });
}

function wire(client: Client, ch: ClientChannel, sink: UpstreamSink): Upstream {
  let closed = false;
  let closing: Promise<void> | null = null;
  const finished = new Promise<void>((resolve) => {
    const finish = (err?: Error): void => {
      if (closed) return;
      closed = true;
      client.end();
      sink.closed(err);
      resolve();
    };
    ch.on('data', (b: Buffer) => sink.data(b));
    ch.stderr.on('data', (b: Buffer) => sink.stderr(b));
    ch.on('drain', () => sink.drain());
    ch.on('exit', (code: number | null, signal?: string) => sink.exit({ code: typeof code === 'number' ? code : null, signal: signal ?? null }));
    ch.on('close', () => finish());
    client.on('error', (err) => finish(err));
    client.on('close', () => finish());
  });
  return {
    write: (chunk) => (closed ? true : ch.write(chunk)),
    endInput: () => void (closed || ch.end()),
    resize: (cols, rows) => void (closed || ch.setWindow(rows, cols, 0, 0)),
    signal: (name) => void (closed || ch.signal(name)),
    pause: () => void ch.pause(),
    resume: () => void ch.resume(),
    close() {
      closing ??= (async () => {
        if (closed) return;
        ch.close();
        client.end();
        const t = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
        await finished;
        clearTimeout(t);
      })();
      return closing;
    },
  };
}
