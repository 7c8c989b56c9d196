/**
 * Repeated denied commands: `count` denials within `within` is someone probing the policy (or a
 * script gone wrong). Interactive denials count per session. A denied exec command never opens a
 * session (each `ssh host 'cmd'` is its own channel with its own id), so exec denials count per
 * grant: three denied `ssh alice:web-1@gatehouse 'rm …'` in a row are one window.
 */
import type { AuditEvent } from '../../events/types.js';
import { contextOf, printableText, type EventDetector, type EventInput, type Finding } from './types.js';

interface Window {
  /** Times and commands of the denials still inside the window, oldest first. */
  readonly hits: { at: number; command: string }[];
  readonly withinMs: number;
}

const MAX_KEYS = 10_000;

export class DeniedCommands implements EventDetector {
  readonly name = 'deniedCommands' as const;
  readonly types = ['command.denied'] as const;
  private readonly windows = new Map<string, Window>();

  judge(e: AuditEvent, input: EventInput): Finding | null {
    const cfg = input.template.anomaly.deniedCommands;
    if (cfg === null || e.grantId === null) return null;
    const mode = e.data.mode === 'exec' ? 'exec' : 'interactive';
    const key = mode === 'exec' || e.sessionId === null ? `grant:${e.grantId}` : `session:${e.sessionId}`;
    const at = Date.parse(e.time);
    const w = this.windows.get(key) ?? { hits: [], withinMs: cfg.withinMs };
    w.hits.push({ at, command: printableText(String(e.data.command ?? ''), 200) });
    while (w.hits.length > 0 && (w.hits[0] as { at: number }).at <= at - cfg.withinMs) w.hits.shift();
    if (w.hits.length < cfg.count) {
      if (!this.windows.has(key) && this.windows.size >= MAX_KEYS) this.sweep(input.now);
      this.windows.set(key, w);
      return null;
    }
    // Fired: start a fresh window, so the next alert needs another `count` denials.
    this.windows.delete(key);
    const first = w.hits[0] as { at: number };
    return {
      detector: this.name,
      action: cfg.action,
      grantId: e.grantId,
      sessionId: e.sessionId,
      summary: `${w.hits.length} commands denied within ${Math.max(1, Math.round((at - first.at) / 1000))} s (limit ${cfg.count} in ${Math.round(cfg.withinMs / 1000)} s)`,
      evidence: { count: w.hits.length, limit: cfg.count, withinMs: cfg.withinMs, mode, scope: key.startsWith('grant:') ? 'grant' : 'session', commands: w.hits.map((h) => ({ at: new Date(h.at).toISOString(), command: h.command })) },
      trigger: e,
      ctx: contextOf(e),
    };
  }

  /** Drops windows whose last denial has left the window (the engine calls this now and then). */
  sweep(now: number): void {
    for (const [key, w] of this.windows) {
      const last = w.hits[w.hits.length - 1];
      if (last === undefined || last.at <= now - w.withinMs) this.windows.delete(key);
    }
  }

  forget(sessionId: string): void {
    this.windows.delete(`session:${sessionId}`);
  }

  get size(): number {
    return this.windows.size;
  }
}
