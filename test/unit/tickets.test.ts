/**
 * Ticket providers against a real local HTTP server speaking PagerDuty's and Jira's shapes, the
 * `tickets` config block, and the incident watcher's polling (resolved → revoked; unknown → kept).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { GatehouseError } from '../../src/domain/errors.js';
import type { Grant } from '../../src/domain/types.js';
import { IncidentWatcher, ticketProviderFrom } from '../../src/grants/incidents.js';
import { httpTickets, patternTickets, staticTickets } from '../../src/grants/tickets.js';
import { grantRecord } from './grants-fixture.js';

/** incident id → [status code, body]; the server answers GET /pd/incidents/ID and /jira/rest/api/2/issue/ID. */
const answers = new Map<string, [number, unknown]>();
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const id = decodeURIComponent((req.url ?? '').split('/').pop()?.split('?')[0] ?? '');
    if (id === 'SLOW') return void setTimeout(() => res.end('{}'), 2_000);
    const [status, body] = answers.get(id) ?? [404, { error: 'not found' }];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const pd = (status: string): [number, unknown] => [200, { incident: { id: 'Q1', status, title: 'db down' } }];
const jira = (key: string): [number, unknown] => [200, { key: 'OPS-1', fields: { status: { name: 'x', statusCategory: { key } } } }];

describe('static and pattern providers', () => {
  it('static: open only when listed', async () => {
    const t = staticTickets(['INC-1', 'INC-2']);
    expect([await t.isOpen('INC-1'), await t.isOpen('INC-3')]).toEqual([true, false]);
    await expect(t.checkOpen('INC-3')).rejects.toMatchObject({ code: 'GH_ERR_TICKET' });
  });

  it('pattern: the whole id must match', async () => {
    const t = patternTickets('INC-[0-9]+');
    expect([await t.isOpen('INC-12'), await t.isOpen('xINC-12'), await t.isOpen('INC-12x')]).toEqual([true, false, false]);
    await expect(t.checkOpen('PROJ-1')).rejects.toThrow('does not look like a ticket');
  });
});

describe('http provider', () => {
  it('PagerDuty: triggered and acknowledged are open, resolved is not; the Authorization header is sent', async () => {
    answers.set('PD-A', pd('triggered')).set('PD-B', pd('acknowledged')).set('PD-C', pd('resolved'));
    const t = httpTickets({ url: `${base}/pd/incidents/{incident}`, preset: 'pagerduty', authorization: 'Token token=pd-secret' });
    expect([await t.isOpen('PD-A'), await t.isOpen('PD-B'), await t.isOpen('PD-C')]).toEqual([true, true, false]);
    await t.checkOpen('PD-A');
    await expect(t.checkOpen('PD-C')).rejects.toThrow('incident PD-C is not open in the ticket system');
    const last = seen.at(-1);
    expect(last?.url).toBe('/pd/incidents/PD-C');
    expect(last?.headers.authorization).toBe('Token token=pd-secret');
    expect(last?.headers.accept).toBe('application/json');
  });

  it('Jira: status category new/indeterminate is open, done is closed', async () => {
    answers.set('OPS-1', jira('indeterminate')).set('OPS-2', jira('new')).set('OPS-3', jira('done'));
    const t = httpTickets({ url: `${base}/jira/rest/api/2/issue/{incident}?fields=status`, preset: 'jira', authorization: 'Bearer jira-token' });
    expect([await t.isOpen('OPS-1'), await t.isOpen('OPS-2'), await t.isOpen('OPS-3')]).toEqual([true, true, false]);
    expect(seen.at(-1)?.url).toBe('/jira/rest/api/2/issue/OPS-3?fields=status');
  });

  it('generic: {open} or {status}; 404 is closed; errors, garbage and timeouts are unknown (null)', async () => {
    answers.set('G-1', [200, { open: true }]).set('G-2', [200, { status: 'Closed' }]).set('G-3', [500, 'oops']).set('G-4', [200, 'not json']).set('G-5', [200, { whatever: 1 }]);
    const t = httpTickets({ url: `${base}/g/{incident}`, preset: 'generic', timeoutMs: 300 });
    expect(await Promise.all(['G-1', 'G-2', 'G-404', 'G-3', 'G-4', 'G-5', 'SLOW'].map((i) => t.isOpen(i)))).toEqual([true, false, false, null, null, null, null]);
    await expect(t.checkOpen('G-3')).rejects.toThrow('cannot confirm incident G-3 with the ticket system; try again');
  });

  it('escapes the incident id into the URL', async () => {
    const t = httpTickets({ url: `${base}/g/{incident}`, preset: 'generic' });
    await t.isOpen('a/b#c');
    expect(seen.at(-1)?.url).toBe('/g/a%2Fb%23c');
  });
});

describe('the tickets config block', () => {
  const cfg = (tickets: unknown, extra: Record<string, unknown> = {}): ReturnType<typeof buildConfig> => buildConfig({ brokerId: 'b', tickets, ...extra }, { baseDir: '/tmp', env: { PD: 'Token token=x' }, source: 't' });
  const problems = (tickets: unknown, extra: Record<string, unknown> = {}): string[] => {
    try {
      cfg(tickets, extra);
    } catch (err) {
      return (err as GatehouseError).details?.problems as string[];
    }
    throw new Error('built');
  };

  it('absent: no provider, polling every minute, no webhook', () => {
    expect(buildConfig({ brokerId: 'b' }, { baseDir: '/tmp', env: {}, source: 't' }).tickets).toEqual({ provider: null, pollIntervalMs: 60_000, webhookSecret: undefined });
  });

  it('maps static, pattern and http (with ${ENV}) providers', () => {
    expect(cfg({ static: ['INC-1'] }).tickets.provider).toEqual({ kind: 'static', open: ['INC-1'] });
    expect(cfg({ pattern: 'INC-\\d+', pollInterval: '30s' }).tickets).toMatchObject({ provider: { kind: 'pattern', pattern: 'INC-\\d+' }, pollIntervalMs: 30_000 });
    expect(cfg({ http: { url: 'https://api.pagerduty.com/incidents/{incident}', preset: 'pagerduty', authorization: '${PD}' } }).tickets.provider).toEqual({ kind: 'http', url: 'https://api.pagerduty.com/incidents/{incident}', preset: 'pagerduty', authorization: 'Token token=x', timeoutMs: 5_000 });
  });

  it('refuses two providers, a bad pattern, a URL without {incident}, a short secret, a webhook without the HTTP listener', () => {
    expect(problems({ static: ['a'], pattern: 'b' })).toEqual(['tickets: name at most one ticket provider: static, pattern or http']);
    expect(problems({ pattern: '(' })).toEqual(['tickets.pattern: expected a valid regular expression']);
    expect(problems({ http: { url: 'https://x.example/incidents' } })).toEqual(['tickets.http.url: the URL must contain {incident}']);
    expect(problems({ webhookSecret: 'short' }, { listen: { http: '127.0.0.1:0' } })).toEqual(['tickets.webhookSecret: use a secret of at least 16 characters']);
    expect(problems({ webhookSecret: 'x'.repeat(32) })).toEqual(['tickets.webhookSecret: the incident webhook needs the HTTP listener (listen.http)']);
  });

  it('reserves the user name gatehouse, the broker\'s own actor for revocations', () => {
    expect(problems(undefined, { users: [{ name: 'gatehouse', roles: ['responder'] }] })).toEqual(['users[0].name: "gatehouse" is reserved for the broker itself']);
  });

  it('ticketProviderFrom builds what the config names', async () => {
    expect(ticketProviderFrom(null)).toBeUndefined();
    expect(await ticketProviderFrom({ kind: 'static', open: ['X-1'] })?.isOpen('X-1')).toBe(true);
    expect(await ticketProviderFrom({ kind: 'pattern', pattern: 'X-\\d' })?.isOpen('X-12')).toBe(false);
    answers.set('PD-Z', pd('resolved'));
    expect(await ticketProviderFrom({ kind: 'http', url: `${base}/pd/incidents/{incident}`, preset: 'pagerduty', authorization: undefined, timeoutMs: 1_000 })?.isOpen('PD-Z')).toBe(false);
  });
});

describe('IncidentWatcher', () => {
  function watcher(grants: Grant[], open: Record<string, boolean | null>): { w: IncidentWatcher; revoked: [string, string, string][] } {
    const revoked: [string, string, string][] = [];
    const w = new IncidentWatcher({
      grants: {
        revoke: async (caller, id, reason) => {
          const g = grants.find((x) => x.id === id) as Grant;
          if (g.state === 'revoked') throw new GatehouseError('GH_ERR_GRANT_STATE', 'already revoked');
          revoked.push([caller, id, reason]);
          return { ...g, state: 'revoked' };
        },
      },
      store: { listGrants: async (f) => grants.filter((g) => (f?.states ?? []).includes(g.state) && (f?.incident === undefined || g.incident === f.incident)) },
      tickets: { isOpen: async (i) => open[i] ?? null, checkOpen: async () => {} },
      clock: { now: () => 1_000, setTimer: () => ({ cancel() {} }) },
      log: pino({ level: 'silent' }),
      pollIntervalMs: 0,
    });
    return { w, revoked };
  }

  it('revokes the pending and active grants of resolved incidents, as gatehouse, and keeps the rest', async () => {
    const grants = [
      grantRecord({ id: 'g-1', incident: 'INC-1', state: 'active', expiresAt: 10_000 }),
      grantRecord({ id: 'g-2', incident: 'INC-1', state: 'pending' }),
      grantRecord({ id: 'g-3', incident: 'INC-2', state: 'active', expiresAt: 10_000 }),
      grantRecord({ id: 'g-4', incident: 'INC-3', state: 'active', expiresAt: 10_000 }),
      grantRecord({ id: 'g-5', incident: 'INC-1', state: 'active', expiresAt: 500 }), // already past its deadline
    ];
    const { w, revoked } = watcher(grants, { 'INC-1': false, 'INC-2': true, 'INC-3': null });
    const out = await w.poll();
    expect(out).toEqual([{ incident: 'INC-1', revoked: ['g-1', 'g-2'] }]);
    expect(revoked).toEqual([
      ['gatehouse', 'g-1', 'incident INC-1 resolved (ticket system)'],
      ['gatehouse', 'g-2', 'incident INC-1 resolved (ticket system)'],
    ]);
  });

  it('resolve() is idempotent: grants already over are skipped', async () => {
    const grants = [grantRecord({ id: 'g-1', incident: 'INC-9', state: 'active', expiresAt: 10_000 })];
    const { w, revoked } = watcher(grants, {});
    expect((await w.resolve('INC-9', 'webhook')).revoked).toEqual(['g-1']);
    grants[0] = { ...(grants[0] as Grant), state: 'revoked' };
    expect((await w.resolve('INC-9', 'webhook')).revoked).toEqual([]);
    expect(revoked).toHaveLength(1);
  });
});
