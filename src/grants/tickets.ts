/**
 * Incident tickets: every grant names one, and a TicketProvider says whether it exists and is
 * open. Built in: a static list, a pattern, and an HTTP provider (GET a URL with the incident id)
 * with presets for PagerDuty's and Jira's REST shapes. `open(incident)` is also what the incident
 * watcher polls to revoke the grants of resolved incidents.
 */
import { GatehouseError } from '../domain/errors.js';

export interface TicketProvider {
  /** Resolves when the incident is open; throws GH_ERR_TICKET naming why not. */
  checkOpen(incident: string): Promise<void>;
  /** true open, false resolved/closed, null unknown (provider down): callers fail closed or retry. */
  isOpen(incident: string): Promise<boolean | null>;
}

export function staticTickets(open: readonly string[]): TicketProvider {
  const set = new Set(open);
  return {
    isOpen: async (i) => set.has(i),
    async checkOpen(i) {
      if (!set.has(i)) throw new GatehouseError('GH_ERR_TICKET', `incident ${i} is not an open incident`);
    },
  };
}

export function patternTickets(pattern: string): TicketProvider {
  const re = new RegExp(`^(?:${pattern})$`);
  return {
    isOpen: async (i) => re.test(i),
    async checkOpen(i) {
      if (!re.test(i)) throw new GatehouseError('GH_ERR_TICKET', `incident id ${i} does not look like a ticket (${pattern})`);
    },
  };
}

export type TicketPreset = 'pagerduty' | 'jira' | 'generic';

export interface HttpTicketOptions {
  /** URL with `{incident}`, e.g. https://api.pagerduty.com/incidents/{incident} */
  readonly url: string;
  readonly preset: TicketPreset;
  /** Sent as `Authorization` (e.g. "Token token=..." for PagerDuty, "Bearer ..." for Jira). */
  readonly authorization?: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** What each preset's JSON says about openness. */
export function openFromBody(preset: TicketPreset, body: unknown): boolean | null {
  const b = body as Record<string, unknown> | null;
  if (b === null || typeof b !== 'object') return null;
  switch (preset) {
    case 'pagerduty': {
      // GET /incidents/{id}: { incident: { status: triggered | acknowledged | resolved } }
      const status = (b.incident as Record<string, unknown> | undefined)?.status;
      return typeof status === 'string' ? status !== 'resolved' : null;
    }
    case 'jira': {
      // GET /rest/api/2/issue/{key}?fields=status: { fields: { status: { statusCategory: { key: new | indeterminate | done } } } }
      const cat = ((((b.fields as Record<string, unknown> | undefined)?.status as Record<string, unknown> | undefined)?.statusCategory as Record<string, unknown> | undefined)?.key);
      return typeof cat === 'string' ? cat !== 'done' : null;
    }
    case 'generic': {
      // { open: true } or { status: "open" | "resolved" | "closed" }
      if (typeof b.open === 'boolean') return b.open;
      if (typeof b.status === 'string') return !['resolved', 'closed', 'done'].includes(b.status.toLowerCase());
      return null;
    }
  }
}

export function httpTickets(o: HttpTicketOptions): TicketProvider {
  const doFetch = o.fetch ?? fetch;
  const isOpen = async (incident: string): Promise<boolean | null> => {
    const url = o.url.replace('{incident}', encodeURIComponent(incident));
    try {
      const res = await doFetch(url, {
        headers: { Accept: 'application/json', ...(o.authorization !== undefined && { Authorization: o.authorization }) },
        signal: AbortSignal.timeout(o.timeoutMs ?? 5_000),
      });
      if (res.status === 404) return false;
      if (!res.ok) return null;
      return openFromBody(o.preset, await res.json());
    } catch {
      return null;
    }
  };
  return {
    isOpen,
    async checkOpen(incident) {
      const open = await isOpen(incident);
      if (open === null) throw new GatehouseError('GH_ERR_TICKET', `cannot confirm incident ${incident} with the ticket system; try again`);
      if (!open) throw new GatehouseError('GH_ERR_TICKET', `incident ${incident} is not open in the ticket system`);
    },
  };
}
