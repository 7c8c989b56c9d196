/**
 * The template's rules about which channels may open and from where, as pure functions of the
 * request: checked before anything opens upstream. (How many may be open is `maxSessions`, counted
 * against the store in connection.ts with slots.ts.)
 */
import type { ErrorCode } from '../domain/errors.js';
import type { Target, Template } from '../domain/types.js';
import { networkMatcher } from '../grants/networks.js';
import type { StartRequest } from './channel.js';
import { sanitizeForLog } from './username.js';

export interface Refusal {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Subsystems pass through only to ssh targets: the local and ssm connectors have no subsystems
 * and would open a plain, uninspected shell instead. Null when `target` may take one.
 */
export function subsystemTargetRefusal(name: string, target: Target | undefined): string | null {
  if (target?.kind === 'ssh') return null;
  return `subsystem ${sanitizeForLog(name.slice(0, 32))} is passed through only to ssh targets, and ${target?.name ?? 'this target'} is a ${target?.kind ?? 'unknown'} target`;
}

/**
 * Channel shapes the template cannot judge, refused before anything opens upstream. A shell
 * without a terminal reads commands from stdin (`ssh -T`, `cmd | ssh host`), where interactive
 * inspection (which needs a screen) never sees them; so when the template inspects, it is refused
 * (fail closed) instead of running unjudged. Subsystems exist only on ssh targets.
 */
export function channelRefusal(req: StartRequest, template: Template, target: Target): Refusal | null {
  const subsystem = req.subsystem === undefined ? null : subsystemTargetRefusal(req.subsystem, target);
  if (subsystem !== null) return { code: 'GH_ERR_CHANNEL_REFUSED', message: subsystem };
  if (req.kind === 'shell' && req.pty === undefined && template.inspect) {
    return { code: 'GH_ERR_NO_PTY', message: `a shell without a terminal cannot be inspected (template ${template.name} inspects commands): connect with a terminal (ssh -t) or run one command (ssh HOST 'command')` };
  }
  return null;
}

/** The template's limit on where from (`source` is "ip:port"): null when the source is allowed. */
export function sourceRefusal(template: Template, source: string): Refusal | null {
  const ip = source.slice(0, source.lastIndexOf(':'));
  if (networkMatcher(template.sourceNetworks)(ip)) return null;
  return { code: 'GH_ERR_SOURCE_NETWORK', message: `connections from ${ip} are outside the networks template ${template.name} allows (${template.sourceNetworks.join(', ')})` };
}
