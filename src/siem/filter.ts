import { SEVERITIES, type Severity } from '../events/catalogue.js';
import type { AuditEvent } from '../events/types.js';
import { globToRegExp } from '../grants/targets.js';

/** Builds a sink's filter from its `types` globs and `minSeverity`. */
export function eventFilter(types: readonly string[] | undefined, minSeverity: Severity | undefined): (e: AuditEvent) => boolean {
  const res = types?.map(globToRegExp);
  const min = minSeverity === undefined ? 0 : SEVERITIES.indexOf(minSeverity);
  return (e) => SEVERITIES.indexOf(e.severity) >= min && (res === undefined || res.some((r) => r.test(e.type)));
}
