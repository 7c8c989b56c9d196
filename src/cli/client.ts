/**
 * A thin gRPC client for the CLI: address and token from flags or the environment, TLS when a CA
 * is given (with a client certificate for a broker that requires one), and errors turned back into GatehouseErrors (the `gh-code` trailer) so the CLI can pick
 * its exit code and print one clear line.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { clientConstructor } from '../api/grpc/proto.js';
import { readEnv } from '../config/env.js';
import { GatehouseError, isErrorCode } from '../domain/errors.js';

export interface ClientOptions {
  readonly server?: string | undefined;
  readonly token?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
}

export type Rpc = (method: string, request: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface ApiClient {
  readonly call: Rpc;
  readonly raw: grpc.Client;
  readonly metadata: grpc.Metadata;
  close(): void;
}

export function connect(opts: ClientOptions): ApiClient {
  const env = readEnv();
  const server = opts.server ?? env.server ?? '127.0.0.1:9090';
  const token = opts.token ?? env.token;
  if (token === undefined) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'no API token: pass --token or set GATEHOUSE_TOKEN');
  const creds = credentials(opts.tlsCa ?? env.tlsCa, opts.tlsCert ?? env.tlsCert, opts.tlsKey ?? env.tlsKey);
  const Ctor = clientConstructor();
  const client = new Ctor(server, creds) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const call: Rpc = (method, request) =>
    new Promise((resolve, reject) => {
      const fn = client[method];
      if (typeof fn !== 'function') return reject(new GatehouseError('GH_ERR_INTERNAL', `no RPC ${method}`));
      fn.call(client, request, metadata, { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, res: Record<string, unknown>) => {
        if (err) reject(fromGrpcError(err, server));
        else resolve(res);
      });
    });
  return { call, raw: client, metadata, close: () => client.close() };
}

function credentials(ca: string | undefined, cert: string | undefined, key: string | undefined): grpc.ChannelCredentials {
  if ((cert === undefined) !== (key === undefined)) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a client certificate needs both --tls-cert and --tls-key');
  if (ca === undefined) {
    if (cert !== undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a client certificate needs --tls-ca (the CA that signed the broker)');
    return grpc.credentials.createInsecure();
  }
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new GatehouseError('GH_ERR_BAD_INPUT', `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return cert !== undefined && key !== undefined
    ? grpc.credentials.createSsl(read(ca, 'CA file'), read(key, 'client key'), read(cert, 'client certificate'))
    : grpc.credentials.createSsl(read(ca, 'CA file'));
}

export function fromGrpcError(err: grpc.ServiceError, server: string): GatehouseError {
  const code = err.metadata?.get('gh-code')[0];
  if (typeof code === 'string' && isErrorCode(code)) return new GatehouseError(code, err.details);
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
    return new GatehouseError('GH_ERR_UNAVAILABLE', `cannot reach the broker at ${server}: ${err.details}`);
  }
  if (err.code === grpc.status.UNAUTHENTICATED) return new GatehouseError('GH_ERR_UNAUTHENTICATED', err.details);
  return new GatehouseError('GH_ERR_INTERNAL', err.details || err.message);
}
