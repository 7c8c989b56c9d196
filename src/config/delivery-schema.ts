/**
 * The configuration of where events go (docs/siem.md, docs/approvals.md): SIEM sinks, the ticket
 * provider, notifications. Part of the contract in schema.ts, which includes these.
 */
import { z } from 'zod';
import { duration } from './primitives.js';

const sinkFilter = {
  /** Event types to send (globs such as `session.*`); default all. */
  types: z.array(z.string()).optional(),
  /** Lowest severity to send. */
  minSeverity: z.enum(['info', 'notice', 'warning', 'critical']).optional(),
};

/** Delivery tuning shared by every sink (docs/siem.md "Delivery"). Defaults are applied by src/siem. */
const sinkDelivery = {
  /** Events per batch; default 500. */
  batchSize: z.number().int().min(1).max(5_000).optional(),
  /** Longest wait between retries; default 30s. Retries back off from 200 ms with full jitter. */
  maxBackoff: duration.optional(),
  /** Undelivered events at which `sink.backlog_full` is raised; default 100000. Nothing is ever dropped. */
  backlogLimit: z.number().int().min(1).optional(),
};

const clientTls = z.strictObject({
  /** PEM CA bundle that signs the server's certificate (default: the system CAs). */
  ca: z.string().optional(),
  /** PEM client certificate and key, for servers that require mutual TLS. */
  cert: z.string().optional(),
  key: z.string().optional(),
  /** Skip server certificate verification. For lab use only; logged loudly. */
  insecure: z.boolean().default(false),
  /** Server name for SNI and certificate checks; default the host. */
  servername: z.string().optional(),
});

const FACILITY_NAMES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;

export const sinkSchema = z.union([
  z.strictObject({
    /** JSONL, one stored event per line, fdatasync'd per batch (verifiable offline with `audit verify --from`). */
    file: z.strictObject({ path: z.string(), ...sinkFilter, ...sinkDelivery }),
    name: z.string().optional(),
  }),
  z.strictObject({
    /** RFC 5424 over TCP (RFC 6587 octet counting) or TLS. */
    syslog: z.strictObject({
      host: z.string(),
      port: z.number().int().min(1).max(65_535),
      /** false: plain TCP; true: TLS with the system CAs; an object: TLS with these options. */
      tls: z.union([z.boolean(), clientTls]).default(false),
      /** MSG body: the event as JSON, CEF, or the event's OCSF object as JSON. */
      format: z.enum(['json', 'cef', 'ocsf']).default('json'),
      appName: z.string().default('gatehouse'),
      /** Syslog facility; default authpriv. */
      facility: z.enum(FACILITY_NAMES).optional(),
      /** STRUCTURED-DATA id; default gatehouse@32473 (the documentation PEN: use your own). */
      sdId: z.string().regex(/^[^\s="\]@]{1,32}(@\d+(\.\d+)*)?$/, 'expected an SD-ID such as gatehouse@32473').optional(),
      /** How far back events are re-sent after the connection breaks; default 10s. */
      resendWindow: duration.optional(),
      /** Connect timeout; default 5s. */
      connectTimeout: duration.optional(),
      ...sinkFilter,
      ...sinkDelivery,
    }),
    name: z.string().optional(),
  }),
  z.strictObject({
    http: z.strictObject({
      url: z.url(),
      format: z.enum(['splunk-hec', 'webhook']).default('webhook'),
      /** Splunk HEC token (sent as `Authorization: Splunk TOKEN`). Use ${ENV_VAR}. */
      token: z.string().optional(),
      /** Webhook: HMAC-SHA256 key; the signature goes in `X-Gatehouse-Signature: sha256=HEX`. Use ${ENV_VAR}. */
      hmacSecret: z.string().optional(),
      tls: clientTls.optional(),
      batchSize: z.number().int().min(1).max(5_000).default(500),
      /** `event`: Gatehouse events as stored; `ocsf`: their OCSF objects. Default event. */
      payload: z.enum(['event', 'ocsf']).optional(),
      /** Per-request timeout; default 10s. */
      timeout: duration.optional(),
      /** Extra request headers. */
      headers: z.record(z.string(), z.string()).optional(),
      /** Splunk HEC `index`, `source` (default gatehouse) and `sourcetype` (default gatehouse:event). */
      index: z.string().optional(),
      source: z.string().optional(),
      sourcetype: z.string().optional(),
      maxBackoff: sinkDelivery.maxBackoff,
      backlogLimit: sinkDelivery.backlogLimit,
      ...sinkFilter,
    }),
    name: z.string().optional(),
  }),
]);

/**
 * Incident tickets (docs/approvals.md "Tickets and incident hooks"). At most one provider: `static`
 * (the open incident ids), `pattern` (a regular expression every id must match), or `http` (ask the
 * ticket system; presets for PagerDuty, Jira and a generic `{open}`/`{status}` JSON). No provider:
 * any well-formed id is accepted. `pollInterval`: how often the incidents of pending and active
 * grants are re-checked (a resolved one revokes its grants); 0 turns polling off. `webhookSecret`:
 * turns on `POST /hooks/incident` on the HTTP listener (Bearer or HMAC-SHA256). Use ${ENV_VAR}.
 */
export const ticketsSchema = z
  .strictObject({
    static: z.array(z.string().min(1)).optional(),
    pattern: z
      .string()
      .min(1)
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'expected a valid regular expression')
      .optional(),
    http: z
      .strictObject({
        /** GET URL with `{incident}`, e.g. https://api.pagerduty.com/incidents/{incident} */
        url: z.url().refine((u) => u.includes('{incident}') || u.includes('%7Bincident%7D'), 'the URL must contain {incident}'),
        preset: z.enum(['pagerduty', 'jira', 'generic']).default('generic'),
        /** Sent as `Authorization` ("Token token=..." for PagerDuty, "Bearer ..." / "Basic ..." for Jira). */
        authorization: z.string().optional(),
        timeout: duration.default(5_000),
      })
      .optional(),
    pollInterval: duration.refine((ms) => ms === 0 || ms >= 100, 'at least 100ms, or 0 to turn polling off').default(60_000),
    webhookSecret: z.string().min(16, 'use a secret of at least 16 characters').optional(),
  })
  .refine((t) => [t.static, t.pattern, t.http].filter((x) => x !== undefined).length <= 1, 'name at most one ticket provider: static, pattern or http');

const notifyCommon = {
  /** Event types to notify about (globs such as `session.*`); default NOTIFY_DEFAULT_EVENTS. */
  events: z.array(z.string().min(1)).min(1).optional(),
  /** Events older than this when their turn comes (a backlog after an outage) are skipped. */
  maxAge: duration.default(3_600_000),
};

/**
 * People-facing notifications (docs/approvals.md "Notifications"): target owners and approvers are
 * told of requests, sessions, denials, kills, anomalies, break-glass. `slack`: an incoming-webhook
 * URL (`{text, blocks}`); `mentions` maps user names to Slack member ids (`U123`) for real
 * @-mentions. `webhook`: a JSON POST, signed with `X-Gatehouse-Signature: sha256=HEX` when
 * `hmacSecret` is set. Delivered by the sink worker: durable cursor, retries with backoff.
 */
export const notifySchema = z.union([
  z.strictObject({
    slack: z.strictObject({ url: z.url(), mentions: z.record(z.string(), z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'expected a Slack member id such as U024BE7LH')).optional(), ...notifyCommon }),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  }),
  z.strictObject({
    webhook: z.strictObject({ url: z.url(), hmacSecret: z.string().min(16, 'use a secret of at least 16 characters').optional(), ...notifyCommon }),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  }),
]);
