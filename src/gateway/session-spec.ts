/**
 * What one admitted session channel asks for: the grant, template and target it runs under, and
 * the shell, exec or subsystem request the client made. A plain type in a file of its own: the
 * connection builds it, the guard judges it, session-records.ts turns it into rows, and none of
 * them needs the session's lifecycle (session.ts) to name it.
 */
import type { PtySpec } from '../connectors/types.js';
import type { Grant, Target, Template } from '../domain/types.js';
import type { Decision } from '../policy/index.js';

export interface SessionSpec {
  readonly id: string;
  readonly grant: Grant;
  readonly template: Template;
  readonly target: Target;
  readonly source: string;
  readonly kind: 'shell' | 'exec';
  readonly command: string | undefined;
  readonly subsystem: string | undefined;
  readonly pty: PtySpec | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** The policy decision on an exec command (allowed, or approved after review). */
  readonly decision: Decision | null;
}
