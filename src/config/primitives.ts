/** Value types shared by the configuration schemas: host:port and durations ("90s", "1h30m", or seconds). */
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';

/** "host:port", "[::1]:port"; port 0 picks a free port (tests). */
export const hostPort = z.string().transform((value, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return { host: (m[1] ?? m[2]) as string, port };
});

export const duration = z.union([z.string(), z.number().int().nonnegative()]).transform((value, ctx) => {
  if (typeof value === 'number') return value * 1_000;
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
