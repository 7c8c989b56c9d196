/**
 * Shared by the inspect-*.test.ts files: a responder at a real terminal (OpenSSH client in a PTY)
 * through an inspected Gatehouse session into the real sshd's bash, and readers for what the
 * broker recorded about it.
 */
import { join } from 'node:path';
import { readCast } from '../../src/recording/reader.js';
import type { AuditEvent } from '../../src/events/types.js';
import { startHarness, TEST_RULES, type Harness, type HarnessOptions } from '../fixtures/harness.js';
import type { Scope } from '../fixtures/scope.js';
import { until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';

/** The end of a bash prompt (`root@host:/dir# `, maybe followed by a shell-integration mark). */
export const PROMPT = /[#$] (?:\x1b\]133;B;[^\x07]*\x07)?(?:\x1b\[K)?$/;

export interface Shell {
  readonly h: Harness;
  readonly t: PtySsh;
  /** A temp dir for marker files, on the same machine as the target (the sshd is local). */
  readonly dir: string;
  /** Waits for a fresh prompt after `from` (output offset). */
  prompt(from: number, ms?: number): Promise<void>;
  /** Types a line and Enter; resolves once the next prompt is shown. Returns the output offset before. */
  run(line: string, ms?: number): Promise<number>;
  /** The interactive command events so far: [type, command]. */
  commands(): Promise<[string, string][]>;
  events(type: string): Promise<AuditEvent[]>;
  /** Input ('i') and output ('o') of the recording, once the session has ended. */
  recording(): Promise<{ input: string; output: string; markers: string[] }>;
}

export interface ShellOptions extends HarnessOptions {
  /** Extra allow/deny/review rules added to TEST_RULES (allow may name paths in the work dir). */
  readonly allow?: string[] | ((dir: string) => string[]);
  readonly deny?: string[];
  readonly review?: string[];
  readonly shellIntegration?: boolean;
  readonly reviewTimeout?: string;
  readonly cols?: number;
  readonly rows?: number;
  /** The end of the target shell's prompt (default PROMPT, bash's). */
  readonly prompt?: RegExp;
  /**
   * An exec session with a terminal (`ssh -tt host CMD`) instead of a shell: prepares files in
   * the work dir and returns CMD. No prompt is waited for.
   */
  readonly exec?: (dir: string) => Promise<string>;
}

export async function openShell(scope: Scope, opts: ShellOptions): Promise<Shell> {
  const dir = await scope.tempDir('gh-inspect-');
  const allow = typeof opts.allow === 'function' ? opts.allow(dir) : (opts.allow ?? []);
  const template = {
    name: 'inspect',
    approvals: 1,
    maxDuration: '2h',
    targets: ['env=prod'],
    commands: {
      allow: [...TEST_RULES.allow, ...allow],
      deny: [...TEST_RULES.deny, ...(opts.deny ?? [])],
      review: [...TEST_RULES.review, ...(opts.review ?? [])],
    },
    shellIntegration: opts.shellIntegration ?? false,
    ...(opts.reviewTimeout !== undefined && { reviewTimeout: opts.reviewTimeout }),
  };
  const h = await startHarness(scope, { ...opts, templates: [template] });
  await h.grant({ template: 'inspect' });
  const prompt = opts.prompt ?? PROMPT;
  const command = opts.exec === undefined ? undefined : await opts.exec(dir);
  const t = new PtySsh(scope, h.target('alice', 'alice:web-1'), { cols: opts.cols ?? 100, rows: opts.rows ?? 30, ...(command !== undefined && { command }) });
  const shell: Shell = {
    h,
    t,
    dir,
    async prompt(from, ms = 10_000) {
      await t.waitFor(prompt, ms, from);
    },
    async run(line, ms = 10_000) {
      const from = t.mark();
      t.write(`${line}\r`);
      // The echo of the line (up to its newline) first, then a prompt after it: a prompt matched
      // any earlier could be the previous one still arriving, or readline redrawing this line.
      await t.waitFor('\n', ms, from);
      await t.waitFor(prompt, ms, t.output.indexOf('\n', from) + 1);
      return from;
    },
    async commands() {
      const all = await h.events();
      return all.filter((e) => e.type === 'command.allowed' || e.type === 'command.denied' || e.type === 'command.review').map((e) => [e.type, String(e.data.command)]);
    },
    events: (type) => h.events(type),
    async recording() {
      const end = await until(async () => (await h.events('session.end'))[0], 10_000, 'session end');
      const rec = await until(async () => {
        const r = await h.broker.store.getRecording(String(end.sessionId));
        return r?.state === 'closed' && r;
      });
      const cast = await readCast(join(h.dir, 'recordings', String(rec.path)));
      const pick = (code: string): string => cast.events.filter((e) => e[1] === code).map((e) => String(e[2])).join('');
      return { input: pick('i'), output: pick('o'), markers: cast.events.filter((e) => e[1] === 'm').map((e) => String(e[2])) };
    },
  };
  if (command === undefined) await t.waitFor(prompt);
  return shell;
}
