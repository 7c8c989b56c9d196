/** What every handler gets: the authenticated caller; and zod helpers for validating at the edge. */
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { parseDuration } from '../../domain/duration.js';
import { GatehouseError } from '../../domain/errors.js';
import type { User } from '../../domain/types.js';

export interface CallContext {
  readonly user: User;
  /** The peer address, for events. */
  readonly source: string;
}

export type UnaryHandler = (ctx: CallContext, request: Record<string, unknown>) => Promise<unknown>;
export type StreamHandler = (ctx: CallContext, request: Record<string, unknown>, call: grpc.ServerWritableStream<unknown, unknown>) => Promise<void>;

/** zod at the edge: parse a request or throw GH_ERR_BAD_INPUT naming every bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, request: unknown): z.output<S> {
  const r = schema.safeParse(request);
  if (!r.success) {
    throw new GatehouseError('GH_ERR_BAD_INPUT', r.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '));
  }
  return r.data;
}

export const durationField = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
