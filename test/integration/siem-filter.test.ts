/**
 * A sink's `types` and `minSeverity`, end to end: from the broker's configuration through
 * createSinks and the delivery workers to what each receiver holds — a file, a webhook and a syslog
 * listener each get exactly the stored events that match their filter, and their cursors still
 * move past the rest.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventDraft } from '../../src/events/types.js';
import { parseRfc5424, unframe } from '../../src/siem/rfc5424.js';
import { startHarness } from '../fixtures/harness.js';
import type { Scope } from '../fixtures/resources.js';
import { testScope, until } from '../fixtures/scope.js';
import { recorder } from '../unit/siem/http-recorder.js';

const scope = testScope();

/** A TCP syslog listener: the RFC 5424 messages it received, de-framed. */
async function syslogListener(scope: Scope): Promise<{ port: number; messages: string[] }> {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    let rest: Buffer = Buffer.alloc(0);
    s.on('data', (b: Buffer) => {
      const r = unframe(Buffer.concat([rest, b]));
      messages.push(...r.messages);
      rest = r.rest;
    });
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  scope.defer(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { port, messages };
}

const RANK = { info: 0, notice: 1, warning: 2, critical: 3 } as const;

describe('sink filters', () => {
  it('each configured sink receives exactly the events its types and minSeverity select', async () => {
    const hook = await recorder(scope);
    const syslog = await syslogListener(scope);
    const h = await startHarness(scope, {
      sinks: [
        { name: 'all', file: { path: 'data/all.jsonl' } },
        { name: 'grants', file: { path: 'data/grants.jsonl', types: ['grant.*', 'anomaly.detected'] } },
        { name: 'loud', http: { url: `http://127.0.0.1:${hook.port}/hook`, format: 'webhook', hmacSecret: 's', minSeverity: 'warning' } },
        { name: 'sessions', syslog: { host: '127.0.0.1', port: syslog.port, format: 'json', types: ['session.*'], minSeverity: 'warning' } },
      ],
    });
    await h.grant({ targets: ['sandbox'] });
    const drafts: EventDraft[] = [
      { type: 'grant.revoked', ctx: { actor: 'bob' }, data: { reason: 'done' } },
      { type: 'session.refused', ctx: { user: 'alice' }, data: { error: 'GH_ERR_NO_GRANT', message: 'no grant' } },
      { type: 'session.killed', ctx: { actor: 'bob' }, data: { reason: 'watch' } },
      { type: 'anomaly.detected', ctx: { user: 'alice' }, data: { detector: 'burst', action: 'alert', evidence: {} } },
      { type: 'command.finished', ctx: { user: 'alice' }, data: { command: 'ls', exitCode: 0, durationMs: 3 } },
    ];
    for (const d of drafts) await h.broker.events.emit(d);

    const stored = await h.events();
    const head = stored.at(-1)?.seq ?? 0;
    await until(async () => {
      for (const name of ['all', 'grants', 'loud', 'sessions']) if ((await h.broker.store.getCursor(name)) < head) return false;
      return true;
    }, 10_000, 'every sink past the head');

    // The selections, written out independently of the broker's filter code.
    const grantsWanted = stored.filter((e) => e.type.startsWith('grant.') || e.type === 'anomaly.detected');
    const loudWanted = stored.filter((e) => RANK[e.severity] >= RANK.warning);
    const sessionsWanted = stored.filter((e) => e.type.startsWith('session.') && RANK[e.severity] >= RANK.warning);
    // Each filter keeps some events and drops others, so the test can tell a filter from none.
    for (const wanted of [grantsWanted, loudWanted, sessionsWanted]) {
      expect(wanted.length).toBeGreaterThan(0);
      expect(wanted.length).toBeLessThan(stored.length);
    }

    const jsonl = async (file: string): Promise<AuditEvent[]> => (await readFile(join(h.dir, 'data', file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(await jsonl('all.jsonl')).toEqual(stored);
    expect(await jsonl('grants.jsonl')).toEqual(grantsWanted);
    expect(hook.requests.flatMap((r) => JSON.parse(r.body.toString('utf8')) as AuditEvent[])).toEqual(loudWanted);
    expect(syslog.messages.map((m) => JSON.parse(parseRfc5424(m).msg) as AuditEvent)).toEqual(sessionsWanted);
    expect(sessionsWanted.map((e) => e.type)).toEqual(['session.refused', 'session.killed']);
  });
});
