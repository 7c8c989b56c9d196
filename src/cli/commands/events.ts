/**
 * gatehouse events watch [--from-seq N] [--types GLOB,...] [--min-severity S] [--limit N] [--json]
 *
 * Follows the broker's WatchEvents stream: new events only by default, or from seq N (inclusive:
 * the stored events first, then live ones). One line per event; --json prints each event as
 * stored, one JSON document per line. When the connection drops or the broker restarts, it
 * reconnects with the last seq it printed and resumes exactly, without gaps or repeats (by default,
 * until the first event arrives a reconnect starts again at the head: pass --from-seq to be exact).
 * --limit N exits 0 after N events.
 */
import { GatehouseError } from '../../domain/errors.js';
import type { AuditEvent } from '../../events/types.js';
import { CLIENT_OPTIONS, clientOpts, parse, str } from '../args.js';
import { connect } from '../client.js';
import { stream } from './audit.js';

const RETRYABLE = new Set(['GH_ERR_UNAVAILABLE', 'GH_ERR_STORE']);

export async function eventsCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'watch') throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown events command ${JSON.stringify(sub ?? '')}: use watch`);
  const { values } = parse(rest, { ...CLIENT_OPTIONS, 'from-seq': { type: 'string' }, types: { type: 'string' }, 'min-severity': { type: 'string' }, limit: { type: 'string' } });
  const from = str(values, 'from-seq') ?? 'now';
  const limit = str(values, 'limit');
  if (from !== 'now' && (!/^\d+$/.test(from) || Number(from) < 1)) throw new GatehouseError('GH_ERR_BAD_INPUT', `--from-seq: expected a sequence number ≥ 1, got ${JSON.stringify(from)}`);
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) throw new GatehouseError('GH_ERR_BAD_INPUT', `--limit: expected a positive number, got ${JSON.stringify(limit)}`);
  const types = (str(values, 'types') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const json = values.json === true;
  /** The last seq printed; -1 asks the server to start at its current head. */
  let last = from === 'now' ? -1 : Number(from) - 1;
  let printed = 0;
  const max = limit === undefined ? Infinity : Number(limit);
  const done = new Error('limit reached');
  for (let attempt = 0; ; attempt++) {
    const api = connect(clientOpts(values));
    try {
      await stream(api, 'watchEvents', { fromSequence: last, types, minSeverity: str(values, 'min-severity') ?? '' }, (r) => {
        const seq = Number(r.seq);
        if (seq <= last) return; // a correct server never repeats; never print twice anyway
        last = seq;
        attempt = 0;
        process.stdout.write(json ? `${String(r.json)}\n` : `${line(JSON.parse(String(r.json)) as AuditEvent)}\n`);
        if (++printed >= max) throw done;
      });
      // The server ended the stream (it is shutting down): reconnect and resume.
    } catch (err) {
      if (err === done) return 0;
      if (!(err instanceof GatehouseError) || !RETRYABLE.has(err.code)) throw err;
      process.stderr.write(`gatehouse: ${err.message}; reconnecting from seq ${last + 1}\n`);
    } finally {
      api.close();
    }
    await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5))));
  }
}

function line(e: AuditEvent): string {
  const who = [e.actor && `by ${e.actor}`, e.user && `user ${e.user}`, e.target && `on ${e.target}`, e.sessionId && `session ${e.sessionId}`].filter(Boolean).join(' ');
  return `${e.seq}  ${e.time}  ${e.severity.padEnd(8)}  ${e.type.padEnd(24)}  ${who}`;
}
