/**
 * Exec commands are judged before anything is opened upstream: the target never sees a denied
 * line. Deny → one line on stderr naming the rule, exit status 126, `command.denied`. Review →
 * the responder is told it waits, and the command runs only if a watcher approves in time.
 */
import type { ServerChannel } from 'ssh2';
import type { EventLog } from '../events/log.js';
import type { EventContext } from '../events/types.js';
import type { ReviewQueue } from '../inspect/review.js';
import { evaluate, formatDecision, type CompiledRules, type Decision } from '../policy/index.js';
import type { SessionSpec } from './session.js';

export const DENIED_EXIT = 126;

export type GuardResult = { readonly proceed: false } | { readonly proceed: true; readonly decision: Decision | null };

export interface GuardDeps {
  readonly events: EventLog;
  readonly reviews: ReviewQueue;
  readonly rules: (template: string) => CompiledRules;
}

export function createExecGuard(d: GuardDeps): (spec: SessionSpec, channel: ServerChannel) => Promise<GuardResult> {
  return async (spec, channel) => {
    if (spec.command === undefined) return { proceed: true, decision: null };
    const command = spec.command;
    const decision = evaluate(d.rules(spec.template.name), command);
    const ctx: EventContext = { actor: spec.grant.user, user: spec.grant.user, target: spec.target.name, grantId: spec.grant.id, incident: spec.grant.incident, sessionId: spec.id, source: spec.source };
    if (decision.decision === 'allow') return { proceed: true, decision };
    if (decision.decision === 'review') {
      say(channel, `[gatehouse] waiting up to ${Math.round(spec.template.reviewTimeoutMs / 1000)} s for a watcher to approve: ${formatDecision(decision)}`);
      const r = await d.reviews.hold(ctx, command, decision, 'exec', spec.template.reviewTimeoutMs);
      if (r.outcome === 'approved') {
        say(channel, `[gatehouse] approved by ${r.by ?? 'a watcher'}`);
        return { proceed: true, decision };
      }
      refuse(channel, r.outcome === 'rejected' ? `command rejected by ${r.by ?? 'a watcher'}${r.note ? `: ${r.note}` : ''}` : 'command denied: no watcher approved it in time');
      await d.events.emit({ type: 'command.denied', ctx, data: { command, reasons: decision.reasons, mode: 'exec' } });
      return { proceed: false };
    }
    refuse(channel, `command ${formatDecision(decision)}`);
    await d.events.emit({ type: 'command.denied', ctx, data: { command, reasons: decision.reasons, mode: 'exec' } });
    return { proceed: false };
  };
}

function say(channel: ServerChannel, line: string): void {
  try {
    channel.stderr.write(`${line}\n`);
  } catch {
    // client gone
  }
}

function refuse(channel: ServerChannel, message: string): void {
  try {
    channel.stderr.write(`gatehouse: ${message}\n`);
    channel.exit(DENIED_EXIT);
    channel.end();
  } catch {
    // client gone
  }
}
