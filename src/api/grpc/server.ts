/**
 * The gRPC API (@grpc/grpc-js). Every call is authenticated by the caller's API token
 * (`authorization: Bearer TOKEN`), compared in constant time against the configured SHA-256s, and
 * every failure leaves as a gRPC status plus the stable Gatehouse code in the `gh-code` trailer.
 * Input is validated with zod at this edge before any service sees it.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { asGatehouseError, GatehouseError } from '../../domain/errors.js';
import type { CallContext, StreamHandler, UnaryHandler } from './context.js';
import { serviceDefinition } from './proto.js';
import { createHandlers, type ApiDeps } from './handlers.js';

export interface GrpcTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
  readonly requireClientCert: boolean;
}

export class GrpcApi {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 1024 * 1024 });

  constructor(
    private readonly deps: ApiDeps,
    private readonly log: Logger,
  ) {
    const handlers = createHandlers(deps);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, h] of Object.entries(handlers.unary)) impl[name] = this.wrapUnary(name, h);
    for (const [name, h] of Object.entries(handlers.stream)) impl[name] = this.wrapStream(name, h);
    this.server.addService(serviceDefinition(), impl);
  }

  listen(host: string, port: number, tls: GrpcTls | undefined): Promise<number> {
    const creds = tls
      ? grpc.ServerCredentials.createSsl(tls.ca ? readFileSync(tls.ca) : null, [{ private_key: readFileSync(tls.key), cert_chain: readFileSync(tls.cert) }], tls.requireClientCert)
      : grpc.ServerCredentials.createInsecure();
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(addr, creds, (err, bound) => (err ? reject(new GatehouseError('GH_ERR_CONFIG', `cannot listen for gRPC on ${addr}: ${err.message}`)) : resolve(bound)));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private authenticate(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): CallContext {
    const header = call.metadata.get('authorization')[0];
    const text = typeof header === 'string' ? header : '';
    const m = /^Bearer\s+(\S+)$/.exec(text);
    const user = m ? this.deps.directory.userByToken(m[1] as string) : undefined;
    if (user === undefined) throw new GatehouseError('GH_ERR_UNAUTHENTICATED', m ? 'the API token is not valid' : 'no API token: pass --token or set GATEHOUSE_TOKEN');
    return { user, source: call.getPeer() };
  }

  private wrapUnary(name: string, h: UnaryHandler): grpc.handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      let ctx: CallContext;
      try {
        ctx = this.authenticate(call);
      } catch (err) {
        return callback(this.toStatus(name, err));
      }
      h(ctx, call.request as Record<string, unknown>).then(
        (res) => callback(null, res),
        (err: unknown) => callback(this.toStatus(name, err, ctx.user.name)),
      );
    };
  }

  private wrapStream(name: string, h: StreamHandler): grpc.handleServerStreamingCall<unknown, unknown> {
    return (call) => {
      let ctx: CallContext;
      try {
        ctx = this.authenticate(call);
      } catch (err) {
        call.emit('error', this.toStatus(name, err));
        return;
      }
      h(ctx, call.request as Record<string, unknown>, call).then(
        () => call.end(),
        (err: unknown) => call.emit('error', this.toStatus(name, err, ctx.user.name)),
      );
    };
  }

  private toStatus(rpc: string, err: unknown, caller?: string): Partial<grpc.StatusObject> {
    const e = asGatehouseError(err);
    if (e.code === 'GH_ERR_INTERNAL' || e.code === 'GH_ERR_STORE') this.log.error({ err, rpc, caller }, 'api call failed');
    else this.log.info({ rpc, caller, code: e.code }, e.message);
    const metadata = new grpc.Metadata();
    metadata.set('gh-code', e.code);
    const message = e.code === 'GH_ERR_INTERNAL' ? 'internal error; see the broker log' : e.message;
    return { code: e.grpcStatus, details: message, metadata };
  }
}

