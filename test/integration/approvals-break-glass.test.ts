/**
 * Break-glass end to end: active at once with a critical event and a loud notification to the
 * target's owners and the approvers, refused where the template, user or target does not allow it,
 * capped short, used with the real OpenSSH client, then reviewed — and `gatehouse report` flags it
 * until it is.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { IncidentReport } from '../../src/grants/report.js';
import type { SummaryReport } from '../../src/monitor/report.js';
import { BIN } from '../fixtures/child-broker.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const scope = testScope();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(h: Harness, user: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users[user]?.token ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (c) => resolve({ code: c, stdout, stderr }));
  });
}

/** A Slack incoming webhook: records every message. */
async function slack(): Promise<{ url: string; messages: { text: string; blocks: unknown[] }[] }> {
  const messages: { text: string; blocks: unknown[] }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      messages.push(JSON.parse(body) as { text: string; blocks: unknown[] });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  scope.defer(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/services/T0/B0/x`, messages };
}

const BOX = { name: 'box', local: { command: ['bash', '--norc', '--noprofile'] }, labels: { env: 'test' }, owners: ['dave'] };
const EMERGENCY = { name: 'emergency', approvals: 1, maxDuration: '1h', targets: ['env=test'], commands: { allow: ['echo *', 'id'] }, breakGlass: { allowed: true, maxDuration: '15m', users: ['alice'], targets: ['box'] } };
const bg = (h: Harness, user: string, over: { target?: string; template?: string; duration?: string } = {}): Promise<Run> =>
  cli(h, user, ['grant', 'request', '--user', user, '--target', over.target ?? 'box', '--incident', 'INC-BG', '--duration', over.duration ?? '10m', '--reason', 'database down, pager silent', '--template', over.template ?? 'emergency', '--break-glass', '--json']);

describe('break-glass', () => {
  // Twelve runs of the real binary (about a second each on a busy machine): a longer timeout.
  it('is active at once, loud, usable, capped, refused where not allowed, and owed a review that the report shows', { timeout: 60_000 }, async () => {
    const hook = await slack();
    const h = await startHarness(scope, { targets: [BOX], templates: [EMERGENCY], extra: { notify: [{ slack: { url: hook.url, mentions: { bob: 'U0BOB' } } }] } });

    const ok = await bg(h, 'alice');
    expect(ok.stderr).toBe('');
    const g = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(g).toMatchObject({ state: 'active', breakGlass: true, reviewRequired: true, approvals: [], user: 'alice', targets: ['box'] });
    const loud = (await h.events('grant.break_glass'))[0];
    expect(loud).toMatchObject({ severity: 'critical', grantId: g.id, data: { breakGlass: true, template: 'emergency' } });
    expect((await runSsh(scope, h.target('alice', 'alice:box'), 'echo glass-broken')).stdout.toString()).toBe('glass-broken\n');

    // Refused: another user, a template without break-glass, a target outside it, too long.
    const [erin, tpl, far, long] = await Promise.all([bg(h, 'erin'), bg(h, 'alice', { template: 'diagnose', target: 'sandbox' }), bg(h, 'alice', { target: 'sandbox' }), bg(h, 'alice', { duration: '30m' })]);
    expect([erin.code, erin.stderr]).toEqual([1, 'gatehouse: erin may not break glass under template emergency\n']);
    expect([tpl.code, tpl.stderr]).toEqual([1, 'gatehouse: template diagnose does not allow break-glass\n']);
    expect([far.code, far.stderr]).toEqual([1, 'gatehouse: break-glass under emergency does not reach sandbox\n']);
    expect([long.code, long.stderr]).toEqual([1, 'gatehouse: template emergency allows at most 15m for break-glass, asked for 30m\n']);
    expect(await h.events('grant.break_glass')).toHaveLength(1);

    // Owners and approvers were told, by name.
    const told = await until(() => hook.messages.find((m) => m.text.startsWith('[BREAK-GLASS] alice has access')), 5_000, 'the break-glass notification');
    expect(told.text).toContain('to box (INC-BG) for 10 min without approval');
    expect(told.text).toMatch(/cc @carol <@U0BOB> @dave$|cc <@U0BOB> @carol @dave$/);
    await until(() => hook.messages.find((m) => m.text.includes('opened an exec session (`echo glass-broken`) on box')), 5_000, 'the session notification');

    // The report flags the unreviewed break-glass grant.
    const [before, human, summary] = await Promise.all([cli(h, 'dave', ['report', '--incident', 'INC-BG', '--json']), cli(h, 'dave', ['report', '--incident', 'INC-BG']), cli(h, 'dave', ['report', '--since', '1d', '--json'])]);
    expect(before.code).toBe(0);
    const r1 = JSON.parse(before.stdout) as IncidentReport;
    expect(r1.summary).toMatchObject({ grants: 1, breakGlass: 1, reviewsOwed: 1, sessions: 1 });
    expect(r1.reviews).toEqual([{ grantId: g.id, user: 'alice', why: ['break-glass'], reviewed: null }]);
    if (process.env.GATEHOUSE_TEST_SHOW_REPORT) console.log(human.stdout);
    expect(human.stdout).toContain('Post-incident review: INC-BG');
    expect(human.stdout).toMatch(new RegExp(`${String(g.id)}\\s+alice\\s+break-glass\\s+UNREVIEWED ⚠`));
    const sum1 = JSON.parse(summary.stdout) as SummaryReport;
    expect(sum1.grants).toMatchObject({ breakGlass: 1, unreviewedBreakGlass: 1 });

    // The review: never by the responder, then by an approver.
    const self = await cli(h, 'alice', ['grant', 'review', String(g.id), '--notes', 'all fine']);
    expect([self.code, self.stderr]).toEqual([1, 'gatehouse: alice needs one of the roles: approver, admin\n']);
    const review = await cli(h, 'bob', ['grant', 'review', String(g.id), '--notes', 'replayed the recording: restarted the replica only', '--json']);
    expect(JSON.parse(review.stdout)).toMatchObject({ reviewRequired: false });
    const [after, summaryAfter, denied] = await Promise.all([cli(h, 'dave', ['report', '--incident', 'INC-BG', '--json']), cli(h, 'dave', ['report', '--since', '1d', '--json']), cli(h, 'alice', ['report', '--incident', 'INC-BG'])]);
    const r2 = JSON.parse(after.stdout) as IncidentReport;
    expect(r2.summary.reviewsOwed).toBe(0);
    expect(r2.reviews[0]?.reviewed).toMatchObject({ by: 'bob', notes: 'replayed the recording: restarted the replica only' });
    const sum2 = JSON.parse(summaryAfter.stdout) as SummaryReport;
    expect(sum2.grants).toMatchObject({ breakGlass: 1, unreviewedBreakGlass: 0 });

    // Responders may not read reports.
    expect([denied.code, denied.stderr]).toEqual([1, 'gatehouse: alice needs one of the roles: auditor, approver, admin\n']);
  });
});
