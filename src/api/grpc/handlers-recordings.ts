/**
 * RPCs for recordings and the live view: CreateWebLogin (`gatehouse web login`), WatchSession
 * (`gatehouse sessions watch`), GetRecording (`gatehouse replay`). Same rules as the web UI
 * (api/http/auth.ts PERMISSIONS): watchers and admins watch, auditors and admins replay.
 */
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { GatehouseError } from '../../domain/errors.js';
import type { User } from '../../domain/types.js';
import { PERMISSIONS } from '../permissions.js';
import type { LiveHub } from '../../recording/live.js';
import { castText, closedWhole, openCastFile, withHeader } from '../../recording/cast-stream.js';
import { resolveRecording } from '../../recording/reader.js';
import type { Store } from '../../store/ports.js';
import { parseRequest, type CallContext, type StreamHandler, type UnaryHandler } from './context.js';

export interface RecordingApiDeps {
  readonly store: Store;
  readonly live: LiveHub;
  readonly recordingsDir: string;
  /** One-time web sign-in links (api/http/auth.ts), and the UI's base URL; null without an HTTP listener. */
  readonly web: { readonly createLink: (user: User) => { token: string; expiresAt: number }; readonly url: () => string } | null;
}

const CHUNK = 64 * 1024;

function require(ctx: CallContext, permission: keyof typeof PERMISSIONS): void {
  const roles = PERMISSIONS[permission];
  if (!roles.some((r) => ctx.user.roles.includes(r))) throw new GatehouseError('GH_ERR_FORBIDDEN', `${ctx.user.name} needs one of the roles: ${roles.join(', ')}`);
}

export function recordingHandlers(d: RecordingApiDeps): { unary: Record<string, UnaryHandler>; stream: Record<string, StreamHandler> } {
  const idRequest = z.object({ id: z.string().min(1).max(64) });

  const unary: Record<string, UnaryHandler> = {
    createWebLogin: async (ctx) => {
      if (d.web === null) throw new GatehouseError('GH_ERR_UNAVAILABLE', 'this broker serves no web UI (set listen.http in its configuration)');
      const { token, expiresAt } = d.web.createLink(ctx.user);
      return { url: `${d.web.url()}/login#link=${token}`, expiresAt: new Date(expiresAt).toISOString() };
    },
  };

  const stream: Record<string, StreamHandler> = {
    watchSession: async (ctx, req, call) => {
      require(ctx, 'live');
      const { id } = parseRequest(idRequest, req);
      const s = await d.store.getSession(id);
      if (s === undefined) throw new GatehouseError('GH_ERR_SESSION_NOT_FOUND', `no session ${id}`);
      if (s.state !== 'live') throw new GatehouseError('GH_ERR_SESSION_STATE', `session ${id} has ended (${s.endReason ?? 'unknown'})`);
      await new Promise<void>((resolve, reject) => {
        let pending = 0;
        let done = false;
        const write = (frame: Record<string, unknown>, size: number): void => {
          if (done) return;
          pending += size;
          call.write(frame, () => (pending -= size));
        };
        let watch: { close(): void };
        try {
          watch = d.live.watch(id, {
            snapshot: (screen, cols, rows) => write({ snapshot: { screen, cols, rows } }, screen.length),
            output: (text) => {
              const b = Buffer.from(text, 'utf8');
              write({ output: b }, b.length);
            },
            resize: (cols, rows) => write({ resize: { cols, rows } }, 16),
            end: (reason) => {
              write({ end: reason }, 16);
              done = true;
              resolve();
            },
            get buffered() {
              return pending;
            },
          });
        } catch (err) {
          if (isGatehouse(err, 'GH_ERR_SESSION_NOT_FOUND')) reject(new GatehouseError('GH_ERR_SESSION_STATE', `session ${id} is held by broker ${s.broker}; watch it there`));
          else reject(err as Error);
          return;
        }
        (call as grpc.ServerWritableStream<unknown, unknown>).on('cancelled', () => {
          done = true;
          watch.close();
          resolve();
        });
      });
    },

    getRecording: async (ctx, req, call) => {
      require(ctx, 'replay');
      const { id } = parseRequest(idRequest, req);
      const row = await d.store.getRecording(id);
      if (row === undefined) throw new GatehouseError('GH_ERR_RECORDING_NOT_FOUND', `no recording for session ${id}`);
      // Streamed a chunk at a time (recording/cast-stream.ts); the header gains the row's state.
      const file = await openCastFile(await resolveRecording(d.recordingsDir, row.path));
      const text = castText(file, !closedWhole(row));
      const stream = call as grpc.ServerWritableStream<unknown, unknown>;
      try {
        for await (const chunk of withHeader(text, (h) => ({ ...h, state: row.state }))) {
          for (let off = 0; off < chunk.length; off += CHUNK) {
            if (call.cancelled) return;
            if (!call.write({ data: chunk.subarray(off, off + CHUNK) })) await drained(stream);
          }
        }
      } finally {
        text.destroy();
      }
    },
  };
  return { unary, stream };
}

/** Resolves when the stream can take more, or the caller has gone. */
function drained(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}

const isGatehouse = (err: unknown, code: string): boolean => err instanceof GatehouseError && err.code === code;
