/**
 * A rig for the inspector's state machine: a fake screen, a fake shell (a tiny bash: echoes
 * printable keys, runs lines on CR, abandons on Ctrl-C, redraws on Ctrl-R Ctrl-G) and a manual
 * clock; records what reaches the target, what is judged, what the responder is told.
 */
import { ManualClock } from '../../../src/domain/clock.js';
import { Inspector } from '../../../src/inspect/inspector.js';
import type { ReviewOutcome } from '../../../src/inspect/review.js';
import { compileRules, evaluate } from '../../../src/policy/index.js';
import { FakeScreen } from './fake-screen.js';

export const RULES = compileRules({ allow: ['ls *', 'echo *', 'less *', 'cat *', 'printf *'], deny: ['rm *'], review: ['touch *'] });
export const PROMPT = '$ ';

export interface Rig {
  readonly insp: Inspector;
  readonly screen: FakeScreen;
  readonly clock: ManualClock;
  /** What reached the target, in order, with whether it was recorded. */
  readonly sent: { text: string; record: boolean }[];
  readonly client: string[];
  readonly judged: [string, string][];
  readonly finished: [string, number | null, number][];
  readonly anomalies: string[];
  readonly breaches: [string, string][];
  /** The fake shell's current line buffer. */
  line: string;
  echo: boolean;
  decide(outcome: ReviewOutcome): void;
  type(s: string): void;
  /** Lets timers run until the inspector has decided. */
  settle(ms?: number): void;
  /** Everything sent upstream, joined. */
  upstream(): string;
}

export function rig(opts: { setup?: boolean; echo?: boolean; rules?: ReturnType<typeof compileRules> } = {}): Rig {
  const clock = new ManualClock(1_000);
  const screen = new FakeScreen(60, 12);
  let resolveReview: ((r: { outcome: ReviewOutcome; by: string | null; note: string | null }) => void) | null = null;
  const r: Rig = {
    insp: undefined as unknown as Inspector,
    screen,
    clock,
    sent: [],
    client: [],
    judged: [],
    finished: [],
    anomalies: [],
    breaches: [],
    line: '',
    echo: opts.echo ?? true,
    decide(outcome) {
      resolveReview?.({ outcome, by: 'bob', note: null });
    },
    type(s) {
      r.insp.input(Buffer.from(s, 'latin1'));
    },
    settle(ms = 200) {
      for (let t = 0; t < ms; t += 5) clock.advance(5);
    },
    upstream: () => r.sent.map((x) => x.text).join(''),
  };
  // A tiny bash: echoes printable keys, runs lines on CR, abandons on Ctrl-C, redraws on Ctrl-R Ctrl-G.
  const shell = (bytes: Buffer): void => {
    let s = bytes.toString('latin1').replace(/\x1b\[20[01]~/g, '');
    if (s === '\x12\x07') {
      screen.setRow(PROMPT + r.line);
      r.insp.output();
      return;
    }
    for (const ch of s) {
      if (ch === '\r') {
        screen.newRow();
        screen.type(PROMPT);
        r.line = '';
      } else if (ch === '\x03') {
        screen.type('^C');
        screen.newRow();
        screen.type(PROMPT);
        r.line = '';
      } else if (ch === '\x7f') {
        r.line = r.line.slice(0, -1);
        screen.setRow(PROMPT + r.line);
      } else if (ch >= ' ' && r.echo) {
        r.line += ch;
        screen.type(ch);
      } else if (ch >= ' ') {
        r.line += ch;
      }
    }
    s = '';
    if (r.echo) r.insp.output();
  };
  const insp = new Inspector(
    {
      clock,
      screen,
      upstream: (bytes, record) => {
        r.sent.push({ text: bytes.toString('latin1'), record });
        shell(bytes);
      },
      client: (text) => r.client.push(text),
      judge: (line) => evaluate(opts.rules ?? RULES, line),
      judged: (command, d) => r.judged.push([d.decision, command]),
      review: () => new Promise((resolve) => (resolveReview = resolve)),
      finished: (command, code, ms) => r.finished.push([command, code, ms]),
      anomaly: (detector) => r.anomalies.push(detector),
      breach: (detector, _evidence, message) => r.breaches.push([detector, message]),
      reviewTimeoutMs: 60_000,
    },
    opts.setup ?? false,
  );
  (r as { insp: Inspector }).insp = insp;
  screen.type(PROMPT);
  return r;
}
