/**
 * A line held for review (the template's review rules): the responder is told it waits, keys
 * typed meanwhile are dropped (told once), Ctrl-C abandons it (recorded as denied), and the
 * watcher's decision or the timeout comes back through the ReviewQueue. An outcome that arrives
 * after the line was abandoned, or after the session ended, changes nothing.
 */
import { formatDecision, type Decision } from '../policy/index.js';
import { CTRL_C } from './keys.js';
import type { InspectorPorts } from './ports.js';

export interface HeldOutcome {
  approved(command: string, decision: Decision): void;
  /** Rejected, timed out or abandoned: deny with this decision and message. */
  refused(command: string, decision: Decision, message: string): void;
}

export class HeldForReview {
  private token = 0;
  private command: string | null = null;
  private told = false;

  constructor(
    private readonly ports: Pick<InspectorPorts, 'review' | 'client' | 'judged' | 'reviewTimeoutMs'>,
    private readonly outcome: HeldOutcome,
  ) {}

  start(command: string, decision: Decision): void {
    this.command = command;
    this.told = false;
    this.ports.judged(command, decision);
    const secs = Math.round(this.ports.reviewTimeoutMs / 1000);
    this.ports.client(`\r\n[gatehouse] waiting up to ${secs} s for a watcher to approve: ${formatDecision(decision)} (Ctrl-C abandons it)\r\n`);
    const token = ++this.token;
    void this.ports.review(command, decision).then((r) => {
      if (token !== this.token) return;
      this.command = null;
      if (r.outcome === 'approved') {
        this.ports.client(`[gatehouse] approved by ${r.by ?? 'a watcher'}\r\n`);
        return this.outcome.approved(command, { decision: 'allow', reasons: decision.reasons });
      }
      const why = r.outcome === 'rejected' ? `rejected by ${r.by ?? 'a watcher'}${r.note ? `: ${r.note}` : ''}` : 'no watcher approved it in time';
      this.outcome.refused(command, { decision: 'deny', reasons: decision.reasons.map((x) => ({ ...x, why: `${x.why}; ${why}` })) }, `denied: ${command} (${why})`);
    });
  }

  /** Keys typed while the line waits. */
  input(chunk: Buffer): void {
    if (chunk.includes(CTRL_C)) {
      const command = this.command ?? '';
      this.cancel();
      this.outcome.refused(command, { decision: 'deny', reasons: [{ command, rule: null, why: 'abandoned by the responder while waiting for review' }] }, 'abandoned; it was not run');
      return;
    }
    if (!this.told) {
      this.told = true;
      this.ports.client('[gatehouse] still waiting for a watcher: keystrokes are ignored (Ctrl-C abandons the command)\r\n');
    }
  }

  /** Forget the held line: its outcome, when it comes, is ignored. */
  cancel(): void {
    this.token++;
    this.command = null;
  }
}
