/**
 * Wires interactive inspection (src/inspect) into a live session: the emulator watches target
 * output, the inspector takes over the relay's input handler, decisions go through the session
 * (command events, index, markers), reviews through the ReviewQueue. Attached by LiveSession to
 * sessions with a terminal when the template inspects (`template.inspect`, default on): shells,
 * and exec sessions (`ssh -t host 'journalctl -u nginx'`), whose command was judged before it
 * started but whose terminal can reach a shell later (a pager's `!cmd`, a nested shell): lines
 * typed there are judged like a shell's. Shell integration is installed in shells only.
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../domain/clock.js';
import type { EventLog } from '../events/log.js';
import type { EventDraft } from '../events/types.js';
import { Inspector } from '../inspect/inspector.js';
import type { ReviewQueue } from '../inspect/review.js';
import { Screen } from '../inspect/screen.js';
import { ShellSetup } from '../inspect/setup.js';
import { compileRules, evaluate, type CompiledRules } from '../policy/index.js';
import type { Relay } from './relay.js';
import type { Inspection, LiveSession } from './session.js';

export interface InspectionDeps {
  /** Compiled command rules of a template, by name. */
  readonly rules: (template: string) => CompiledRules;
  readonly reviews: ReviewQueue;
  readonly events: EventLog;
  readonly log: Logger;
  /**
   * Times echoes, settling and floods: real elapsed time on the wire, so the system clock by
   * default, also when the broker runs on an injected clock (review timeouts follow the
   * ReviewQueue's clock).
   */
  readonly clock?: Clock;
  /**
   * Writes an anomaly finding and flags its grant for review in one commit (GrantService), as a
   * detector's `kill` does; without it, the finding is written with the session's end.
   */
  readonly flagForReview?: (grantId: string, events: readonly EventDraft[]) => Promise<unknown>;
}

export function createInspection(deps: InspectionDeps): (session: LiveSession, relay: Relay) => Inspection | undefined {
  const clock = deps.clock ?? systemClock;
  return (session, relay) => {
    const { spec } = session;
    if (spec.pty === undefined) return undefined;
    const log = session.log;
    let rules: CompiledRules;
    try {
      rules = deps.rules(spec.template.name);
    } catch (err) {
      // Cannot happen with a validated config; if it does, nothing is allowed (fail closed).
      log.error({ err }, 'no command rules for the template; every command will be denied');
      rules = compileRules({ allow: [], deny: [], review: [] });
    }
    const emit = (draft: Parameters<EventLog['emit']>[0]): void => {
      deps.events.emit(draft).catch((err: unknown) => log.error({ err, type: draft.type }, 'cannot record an inspection event'));
    };
    let setup: ShellSetup | null = null;
    // The screen's hooks reach the inspector, which is created after it.
    let hooked: Inspector | undefined;
    const screen = new Screen(spec.pty.cols, spec.pty.rows, clock, {
      mark: (payload) => hooked?.mark(payload),
      altScreen: (active) => hooked?.altScreen(active),
      pasteModeOn: () => {
        setup?.pasteModeOn();
        hooked?.pasteModeOn();
      },
    });
    const inspector = new Inspector(
      {
        clock,
        screen,
        upstream: (bytes, record) => relay.toUpstream(bytes, record),
        client: (text) => relay.toClient(text),
        judge: (line) => evaluate(rules, line),
        judged: (command, decision) => {
          session.commandJudged(command, decision).catch((err: unknown) => log.error({ err }, 'cannot record a judged command'));
        },
        review: (command, decision) => deps.reviews.hold(session.ctx(), command, decision, 'interactive', spec.template.reviewTimeoutMs),
        finished: (command, exitCode, durationMs) => emit({ type: 'command.finished', ctx: session.ctx(), data: { command, exitCode, durationMs } }),
        anomaly: (detector, evidence) => {
          log.warn({ detector, evidence }, 'inspection anomaly');
          emit({ type: 'anomaly.detected', ctx: session.ctx(), data: { detector, action: 'alert', evidence } });
        },
        breach: (detector, evidence, message) => {
          log.error({ detector, evidence }, 'inspection bypassed; ending the session');
          const finding: EventDraft = { type: 'anomaly.detected', ctx: session.ctx(), data: { detector, action: 'kill', evidence: { ...evidence, summary: message } } };
          const end = (extra: EventDraft[]): Promise<void> => session.end('anomaly', `session ended by the broker: ${message} (anomaly: ${detector}); security has been notified`, extra);
          // Not from inside the emulator's parse callback, which ending the session disposes of.
          // The finding is on record before the end (the trail reads cause, then effect).
          setImmediate(() => {
            if (deps.flagForReview === undefined) return void end([finding]);
            deps.flagForReview(session.spec.grant.id, [finding]).then(
              () => end([]),
              (err: unknown) => {
                log.warn({ err }, 'cannot flag the grant for review; recording the finding with the end');
                return end([finding]);
              },
            );
          });
        },
        reviewTimeoutMs: spec.template.reviewTimeoutMs,
      },
      spec.kind === 'shell' && spec.template.shellIntegration,
    );
    hooked = inspector;
    if (spec.kind === 'exec' && spec.command !== undefined) inspector.programStarted(spec.command);
    relay.inputHandler = (chunk) => inspector.input(chunk);
    relay.outputObserver = (chunk) => {
      setup?.output();
      inspector.output();
      screen.feed(chunk);
    };
    if (spec.kind === 'shell' && spec.template.shellIntegration) {
      setup = new ShellSetup({
        clock,
        type: (bytes) => relay.toUpstream(bytes, false),
        divert: (fn) => (relay.outputDiverter = fn),
        hidden: (chunk) => screen.feed(chunk),
        client: (text) => relay.toClient(text),
        done: (nonce) => {
          setup = null;
          if (nonce === null) log.info('shell integration not installed; inspecting from the screen');
          inspector.setupDone(nonce);
        },
      });
    }
    return {
      resize(cols, rows) {
        screen.resize(cols, rows);
        inspector.resized();
      },
      close() {
        setup?.close();
        inspector.close();
        screen.close();
        relay.inputHandler = () => {};
        relay.outputObserver = null;
      },
    };
  };
}
