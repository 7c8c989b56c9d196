/**
 * `POST /hooks/incident`: the ticket system (or a relay in front of it) tells the broker an incident
 * changed. Body: `{"incident": "INC-1", "status": "resolved"}`. A resolved or closed incident has
 * its pending and active grants revoked at once and their sessions ended; other statuses are
 * acknowledged and change nothing.
 *
 * Authentication (tickets.webhookSecret), either of:
 *   - `Authorization: Bearer SECRET`
 *   - `X-Gatehouse-Timestamp: UNIX_SECONDS` and
 *     `X-Gatehouse-Signature: sha256=HEX(HMAC-SHA256(SECRET, TIMESTAMP + "." + RAW_BODY))` — the
 *     scheme Gatehouse's own webhook sinks sign with; timestamps more than 5 minutes off are
 *     refused, so a captured request cannot be replayed later.
 * Both are compared in constant time. Bodies over 16 KiB are refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { GatehouseError } from '../../domain/errors.js';
import { INCIDENT_RE } from '../../grants/rules.js';
import type { Resolution } from '../../grants/incidents.js';
import { sendJson, type HttpServer } from './server.js';

const MAX_BODY = 16 * 1024;
const RESOLVED = new Set(['resolved', 'closed', 'done']);
const MAX_SKEW_S = 300;

const body = z.object({
  incident: z.string().regex(INCIDENT_RE, 'expected an incident id such as INC-1234'),
  status: z.string().min(1).max(64),
});

export interface IncidentHookDeps {
  /** Revokes the incident's grants (IncidentWatcher.resolve). */
  resolve(incident: string, via: string): Promise<Resolution>;
  readonly secret: string | undefined;
  readonly log: Logger;
}

/** Registers the route when a secret is configured; without one the hook does not exist (404). */
export function registerIncidentHook(http: HttpServer, d: IncidentHookDeps): void {
  const secret = d.secret;
  if (secret === undefined) return;
  http.route('POST', '/hooks/incident', async (req, res) => {
    const raw = await readBody(req);
    if (!authorised(req, raw, secret, Date.now())) {
      d.log.warn({ remote: req.socket.remoteAddress }, 'incident webhook: bad or missing credentials');
      throw new GatehouseError('GH_ERR_UNAUTHENTICATED', 'send Authorization: Bearer SECRET, or X-Gatehouse-Timestamp with X-Gatehouse-Signature: sha256=HMAC');
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new GatehouseError('GH_ERR_BAD_INPUT', 'the body is not JSON');
    }
    const parsed = body.safeParse(json);
    if (!parsed.success) throw new GatehouseError('GH_ERR_BAD_INPUT', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { incident, status } = parsed.data;
    if (!RESOLVED.has(status.toLowerCase())) {
      sendJson(res, 202, { incident, status, revoked: [] });
      return;
    }
    const r = await d.resolve(incident, 'webhook');
    sendJson(res, 200, { incident, status, revoked: r.revoked });
  });
}

function authorised(req: IncomingMessage, raw: Buffer, secret: string, now: number): boolean {
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)$/.exec(auth)?.[1] : undefined;
  // Hash both sides first: timingSafeEqual needs equal lengths, and the length must not leak either.
  if (bearer !== undefined) return timingSafeEqual(sha256(bearer), sha256(secret));
  const sig = req.headers['x-gatehouse-signature'];
  const ts = req.headers['x-gatehouse-timestamp'];
  const hex = typeof sig === 'string' ? /^sha256=([0-9a-fA-F]{64})$/.exec(sig)?.[1] : undefined;
  if (hex === undefined || typeof ts !== 'string' || !/^\d{1,12}$/.test(ts) || Math.abs(now / 1000 - Number(ts)) > MAX_SKEW_S) return false;
  const expected = createHmac('sha256', secret).update(`${ts}.`).update(raw).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_BODY) {
        // Stop keeping it, drain the rest, and answer 400.
        req.off('data', onData);
        req.resume();
        reject(new GatehouseError('GH_ERR_BAD_INPUT', `the body is larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
