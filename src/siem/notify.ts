/**
 * Notifications for people, as sinks: the owners of a target and the approvers of a grant are told
 * when a request is made, break-glass is used, a session starts or ends, a command is denied, a
 * session is killed, an anomaly fires. Each one is a short message naming who, where, which
 * incident, what happened, and @-mentioning the audience by name.
 *
 *   slack    POST an incoming-webhook URL with `{ text, blocks }` (mrkdwn). `mentions` maps user
 *            names to Slack member ids for real pings (`<@U123>`); others appear as `@name`.
 *   webhook  POST `{ text, audience, event }` as JSON; with `hmacSecret`, signed like the SIEM
 *            webhook sink: `X-Gatehouse-Timestamp: UNIX_SECONDS` and
 *            `X-Gatehouse-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))`.
 *
 * They run under the SinkWorker like every sink (durable cursor, retries with backoff), one message
 * per event. With several brokers on one store, each broker tells people about the events it wrote
 * itself (with its own cursor), so every event is announced once, not once per broker. Unlike the audit sinks they are for people, so: events older than `maxAge` when their
 * turn comes (a new sink starting at the beginning of the log, a long outage) are skipped, and a
 * message the receiver rejects as malformed (400/422) is logged and skipped rather than blocking
 * every later one. Wrong URLs and credentials (other 4xx) are retried until fixed.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { NotifyConfig } from '../config/schema.js';
import type { Grant, Target, Template, User } from '../domain/types.js';
import type { AuditEvent } from '../events/types.js';
import { globToRegExp } from '../grants/targets.js';
import { DeliveryError, type Sink } from './types.js';

/** What people are told about unless `events` says otherwise. */
export const NOTIFY_DEFAULT_EVENTS: readonly string[] = ['grant.requested', 'grant.break_glass', 'session.start', 'session.end', 'command.denied', 'session.killed', 'anomaly.detected'];

/** Who to mention for an event: target owners and the grant's approvers (never the responder). */
export type Audience = (e: AuditEvent) => Promise<readonly string[]>;

export interface NotifyDeps {
  readonly audience: Audience;
  /** Only events written by this broker are announced (several brokers share one store). */
  readonly brokerId?: string;
  readonly log: Logger;
  readonly version: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

export interface AudienceSources {
  /** The users as of now, read at each event: a configuration reload (SIGHUP) changes who is told. */
  users(): readonly User[];
  readonly targets: readonly Target[];
  readonly templates: readonly Template[];
  getGrant(id: string): Promise<Grant | undefined>;
}

/**
 * The audience of an event: the owners of its targets (`targets[].owners`) and everyone who could
 * approve its grant (the template's approver roles and groups), minus the responder themself.
 */
export function audienceFrom(src: AudienceSources): Audience {
  const targets = new Map(src.targets.map((t) => [t.name, t]));
  const templates = new Map(src.templates.map((t) => [t.name, t]));
  const templateOfGrant = new Map<string, string>();
  const approvers = (template: Template | undefined): string[] =>
    template === undefined ? [] : src.users().filter((u) => template.approvers.some((a) => (a.role !== undefined && u.roles.includes(a.role)) || (a.group !== undefined && u.groups.includes(a.group)))).map((u) => u.name);
  return async (e) => {
    const names = new Set<string>();
    for (const t of (e.target ?? '').split(',')) for (const o of targets.get(t)?.owners ?? []) names.add(o);
    let template = typeof e.data.template === 'string' ? e.data.template : e.grantId === null ? undefined : templateOfGrant.get(e.grantId);
    if (template === undefined && e.grantId !== null) {
      template = (await src.getGrant(e.grantId))?.template;
      if (template !== undefined) {
        if (templateOfGrant.size >= 1_000) templateOfGrant.clear();
        templateOfGrant.set(e.grantId, template);
      }
    }
    for (const a of approvers(template === undefined ? undefined : templates.get(template))) names.add(a);
    if (e.user !== null) names.delete(e.user);
    return [...names].sort();
  };
}

const TIMEOUT_MS = 10_000;
const REMEMBERED = 1_000;

export function createNotifySinks(configs: readonly NotifyConfig[], deps: NotifyDeps): NotifySink[] {
  return configs.map((c, i) => new NotifySink(c, c.name ?? `notify-${'slack' in c ? 'slack' : 'webhook'}-${i}`, deps));
}

export class NotifySink implements Sink {
  private readonly types: readonly RegExp[];
  private readonly maxAgeMs: number;
  private readonly url: string;
  /** Events delivered in a batch that later failed: not sent twice when the worker retries it. */
  private readonly sent = new Set<string>();
  private readonly now: () => number;
  private readonly doFetch: typeof fetch;

  constructor(
    private readonly c: NotifyConfig,
    readonly name: string,
    private readonly d: NotifyDeps,
  ) {
    const o = 'slack' in c ? c.slack : c.webhook;
    this.types = (o.events ?? NOTIFY_DEFAULT_EVENTS).map(globToRegExp);
    this.maxAgeMs = o.maxAge;
    this.url = o.url;
    this.now = d.now ?? Date.now;
    this.doFetch = d.fetch ?? fetch;
  }

  accepts(e: AuditEvent): boolean {
    return (this.d.brokerId === undefined || e.broker === this.d.brokerId) && this.types.some((r) => r.test(e.type)) && this.fresh(e);
  }

  async deliver(batch: readonly AuditEvent[]): Promise<void> {
    for (const e of batch) {
      if (this.sent.has(e.id) || !this.fresh(e)) continue;
      const audience = await this.d.audience(e).catch((err: unknown) => {
        this.d.log.warn({ err, event: e.id }, 'notify: cannot work out who to tell; sending without mentions');
        return [] as string[];
      });
      await this.post(e, audience);
      if (this.sent.size >= REMEMBERED) this.sent.clear();
      this.sent.add(e.id);
    }
  }

  async close(): Promise<void> {}

  /** The request body for an event (exposed for tests). */
  encode(e: AuditEvent, audience: readonly string[]): string {
    if ('slack' in this.c) {
      const mentions = this.c.slack.mentions ?? {};
      const at = audience.map((n) => (mentions[n] !== undefined ? `<@${mentions[n]}>` : `@${n}`));
      const text = `${slackEscape(describe(e))}${at.length > 0 ? `\ncc ${at.join(' ')}` : ''}`;
      const blocks = [
        { type: 'section', text: { type: 'mrkdwn', text } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(`${e.type} (${e.code}, ${e.severity}) · ${e.time} · broker ${e.broker} · event ${e.id}`) }] },
      ];
      return JSON.stringify({ text, blocks });
    }
    const text = `${describe(e)}${audience.length > 0 ? `\ncc ${audience.map((n) => `@${n}`).join(' ')}` : ''}`;
    const event = { id: e.id, seq: e.seq, time: e.time, type: e.type, code: e.code, severity: e.severity, broker: e.broker, actor: e.actor, user: e.user, target: e.target, grantId: e.grantId, incident: e.incident, sessionId: e.sessionId, source: e.source, data: e.data };
    return JSON.stringify({ text, audience, event });
  }

  private fresh(e: AuditEvent): boolean {
    return this.now() - Date.parse(e.time) <= this.maxAgeMs;
  }

  private async post(e: AuditEvent, audience: readonly string[]): Promise<void> {
    const body = this.encode(e, audience);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': `gatehouse/${this.d.version}` };
    if ('webhook' in this.c && this.c.webhook.hmacSecret !== undefined) {
      const ts = String(Math.floor(this.now() / 1000));
      headers['x-gatehouse-timestamp'] = ts;
      headers['x-gatehouse-signature'] = `sha256=${createHmac('sha256', this.c.webhook.hmacSecret).update(`${ts}.`).update(body).digest('hex')}`;
    }
    let res: Response;
    try {
      res = await this.doFetch(this.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new DeliveryError(`notify ${this.name}: ${(err as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    const where = `notify ${this.name}: ${new URL(this.url).origin} answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    if (res.status === 400 || res.status === 422) {
      this.d.log.error({ sink: this.name, event: e.id, status: res.status }, `${where}; the message is skipped`);
      return;
    }
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      const after = Number(res.headers.get('retry-after'));
      throw new DeliveryError(where, Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {});
    }
    throw new DeliveryError(`${where} (check the URL and secret)`, { permanent: true });
  }
}

/** One or two lines a person reads: who, where, which incident, what happened. */
export function describe(e: AuditEvent): string {
  const d = e.data as Record<string, unknown>;
  const who = e.user ?? 'someone';
  const where = e.target ?? 'a target';
  const inc = e.incident ? ` (${e.incident})` : '';
  const txt = (v: unknown, max = 200): string => clean(String(v ?? ''), max);
  switch (e.type) {
    case 'grant.requested':
      return `${d.breakGlass ? '[BREAK-GLASS] ' : ''}${who} requested access to ${where}${inc} for ${minutes(d.durationMs)} under ${txt(d.template, 64)}: "${txt(d.reason)}" — grant ${e.grantId ?? ''}${d.breakGlass ? '' : `; approve with: gatehouse grant approve ${e.grantId ?? ''}`}`;
    case 'grant.break_glass':
      return `[BREAK-GLASS] ${who} has access to ${where}${inc} for ${minutes(d.durationMs)} without approval: "${txt(d.reason)}". Review required: gatehouse grant review ${e.grantId ?? ''} --notes "..."`;
    case 'session.start':
      return `${who} opened ${d.kind === 'exec' ? `an exec session (${code(txt(d.command))})` : 'a shell'} on ${where}${inc} from ${e.source ?? 'an unknown address'} — session ${e.sessionId ?? ''}`;
    case 'session.end':
      return `${who}'s session on ${where}${inc} ended: ${txt(d.reason, 40)} after ${seconds(d.durationMs)}${typeof d.exitCode === 'number' ? `, exit ${d.exitCode}` : ''}${d.message ? ` — ${txt(d.message)}` : ''} — session ${e.sessionId ?? ''}`;
    case 'command.denied':
      return `command denied for ${who} on ${where}${inc}: ${code(txt(d.command))}${firstWhy(d.reasons)}`;
    case 'session.killed':
      return `${e.actor ?? 'someone'} killed ${who}'s session on ${where}${inc}: ${txt(d.reason)} — session ${e.sessionId ?? ''}`;
    case 'anomaly.detected': {
      const ev = (d.evidence ?? {}) as Record<string, unknown>;
      return `[ANOMALY] ${txt(d.detector, 40)} → ${txt(d.action, 10)} for ${who} on ${where}${inc}: ${txt(ev.summary ?? '')}`;
    }
    default:
      return `${e.type}: ${who} on ${where}${inc}`;
  }
}

const minutes = (ms: unknown): string => (typeof ms === 'number' ? `${Math.round(ms / 60_000)} min` : 'an unknown time');
const seconds = (ms: unknown): string => (typeof ms === 'number' ? (ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`) : '?');
const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;
function firstWhy(reasons: unknown): string {
  const r = Array.isArray(reasons) ? (reasons as { why?: unknown }[]).find((x) => typeof x.why === 'string' && !String(x.why).startsWith('matches allow')) : undefined;
  return r ? ` — ${clean(String(r.why), 160)}` : '';
}
/** No control characters (terminal escapes in a command must not reach a chat client), bounded length. */
function clean(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
/** Slack mrkdwn: &, < and > are control characters (links, mentions); escape them. */
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
