/**
 * The anomaly detectors' shared vocabulary. A detector turns evidence (an event on the feed, or a
 * sample of a session's byte counters) into a Finding; the engine (engine.ts) turns a Finding into
 * the template's action. Detectors never act themselves, so each one is tested on its own, without
 * sessions, sockets or timers.
 */
import { isIP } from 'node:net';
import type { AnomalyAction, EndReason, Grant, Template } from '../../domain/types.js';
import type { AuditEvent, EventContext } from '../../events/types.js';

/** What the engine needs of a live session; LiveSession satisfies it, tests pass fakes. */
export interface Subject {
  readonly id: string;
  readonly grantId: string;
  readonly spec: { readonly grant: Grant; readonly template: Template; readonly source: string };
  /** Bytes relayed so far; cheap counters, read by the sampler only. */
  readonly stats: { readonly bytesIn: number; readonly bytesOut: number };
  readonly isLive: boolean;
  ctx(): EventContext;
  end(reason: EndReason, message?: string): Promise<void>;
}

export type DetectorName = 'deniedCommands' | 'dangerousCommands' | 'outputVolume' | 'newSource' | 'outsideNetworks' | 'overrun';

/** A detector fired: what, about which grant and session, why; the engine acts on it. */
export interface Finding {
  readonly detector: DetectorName;
  readonly action: AnomalyAction;
  readonly grantId: string;
  /** The session the evidence is about, when there is one (a refused connection has none). */
  readonly sessionId: string | null;
  /** One printable line: told to the responder, used as the revoke reason, sent to notifications. */
  readonly summary: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  /** The event that triggered it, or null for sampled detectors (output volume, overrun). */
  readonly trigger: AuditEvent | null;
  readonly ctx: EventContext;
}

/** What an event-driven detector is told besides the event. */
export interface EventInput {
  /** The template of the event's grant. */
  readonly template: Template;
  /** The event's session when this broker holds it live. */
  readonly session: Subject | undefined;
  readonly now: number;
  /** The grant's live sessions on every broker (the store's view). */
  liveSessions(grantId: string): Promise<readonly LiveRow[]>;
}

/** A live session as the store knows it. */
export interface LiveRow {
  readonly id: string;
  readonly source: string;
  readonly startedAt: number;
  readonly broker: string;
}

export interface EventDetector {
  readonly name: DetectorName;
  /** Event types this detector reads; the engine routes only these to it. */
  readonly types: readonly string[];
  judge(e: AuditEvent, input: EventInput): Finding | null | Promise<Finding | null>;
}

export interface SampledDetector {
  /** Called every sampling tick for every watched session. */
  sample(s: Subject, now: number): Finding | null;
  /** The session ended: drop its state. */
  forget(sessionId: string): void;
}

/** The context of an event, for a finding about the same grant, user and session. */
export function contextOf(e: AuditEvent): EventContext {
  return { actor: 'gatehouse', user: e.user, target: e.target, grantId: e.grantId, incident: e.incident, sessionId: e.sessionId, source: e.source };
}

/** The address part of the gateway's "ip:port" source (as connection.ts splits it; IPv4-mapped IPv6 as plain IPv4). */
export function hostOf(source: string): string {
  const at = source.lastIndexOf(':');
  const ip = at > 0 && /^\d+$/.test(source.slice(at + 1)) ? source.slice(0, at) : source;
  return unmap(ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip);
}

const unmap = (ip: string): string => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/**
 * Command text and names as they may appear on a terminal, in a revoke reason or a chat message:
 * control characters become '?', and long text is cut with an ellipsis.
 */
export function printableText(text: string, max = 160): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
