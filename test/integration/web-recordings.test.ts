/**
 * Recordings as reviewers meet them: the index lists every session (also one whose broker was
 * killed: interrupted, playable to its last second), filters by user, target, incident and date,
 * and finds sessions by command text; the web API serves clean asciicast with command markers;
 * `gatehouse replay` plays it with markers and strips escape sequences aimed at the viewer's
 * terminal; gzip on close; keystrokes at a password prompt are not recorded.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCast } from '../../src/recording/reader.js';
import { BIN, spawnBroker, writeConfig } from '../fixtures/child-broker.js';
import { prepareBroker, TEST_RULES } from '../fixtures/harness.js';
import { fileScope, sleep, testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';
import { http, login, webHarness } from './web-helpers.js';

const files = fileScope();
const scope = testScope();
const PROMPT = /[$#] $/;

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('recordings index, search and replay', async () => {
  const h = await webHarness(files, {
    recordings: { gzip: true },
    commands: { allow: [...TEST_RULES.allow, 'read *'] },
    // Without interactive inspection, the recorder's own prompt detection is all there is.
    templates: [{ name: 'uninspected', approvals: 1, maxDuration: '2h', targets: ['env=test'], inspect: false, commands: { ...TEST_RULES, allow: [...TEST_RULES.allow, 'read *'] } }],
  });
  const dave = await login(h, 'dave');
  const env = (user: string): Record<string, string> => ({ GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users[user]?.token ?? '' });
  /** A GET whose body is kept as bytes (the web-helpers client decodes text). */
  const raw = (path: string, headers: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      get(`${h.base}${path}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });

  async function shell(user: string, incident: string, lines: string[]): Promise<string> {
    await h.grant({ user, targets: ['sandbox'], incident });
    const before = (await h.events('session.end')).length;
    const ssh = new PtySsh(scope, h.target(user, `${user}:sandbox`));
    await ssh.waitFor(PROMPT);
    for (const line of lines) {
      const mark = ssh.mark();
      ssh.write(`${line}\r`);
      await ssh.waitFor(PROMPT, 5_000, mark + line.length + 1);
      await sleep(150);
    }
    ssh.write('exit\r');
    await ssh.exited;
    const end = await until(async () => (await h.events('session.end'))[before], 5_000, 'session end');
    return String(end.sessionId);
  }

  const a = await shell('alice', 'INC-7', ['echo first-step', 'uname -s', 'printf "\\033]52;c;ZXZpbA==\\007\\033]0;pwned\\007clip-%s\\n" done', 'echo last-step']);
  const e = await shell('erin', 'INC-8', ['echo erin-was-here', 'echo token=hunter2']);

  it('lists recordings with their index fields, filtered by user, target, incident and date', async () => {
    const all = (await http(h.base, 'GET', '/api/sessions', { cookie: dave })).json.recorded as Record<string, unknown>[];
    expect(all.map((r) => r.id).sort()).toEqual([a, e].sort());
    const rec = all.find((r) => r.id === a) as Record<string, unknown>;
    expect(rec).toMatchObject({ user: 'alice', target: 'sandbox', incident: 'INC-7', state: 'closed', commands: 5, matches: [] });
    expect(rec.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(String(rec.endedAt))).toBeGreaterThanOrEqual(Date.parse(String(rec.startedAt)));

    const ids = async (q: string): Promise<string[]> => ((await http(h.base, 'GET', `/api/sessions?${q}`, { cookie: dave })).json.recorded as { id: string }[]).map((r) => r.id);
    expect(await ids('user=erin')).toEqual([e]);
    expect(await ids('incident=INC-7')).toEqual([a]);
    expect(await ids('target=web-1')).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect((await ids(`since=${today}&until=${today}`)).sort()).toEqual([a, e].sort());
    expect(await ids(`until=${yesterday}`)).toEqual([]);
    expect((await http(h.base, 'GET', '/api/sessions?since=not-a-date', { cookie: dave })).status).toBe(400);
  });

  it('finds sessions by command text, with the matching commands and their offsets', async () => {
    const res = await http(h.base, 'GET', '/api/sessions?q=UNAME', { cookie: dave });
    const rec = res.json.recorded as { id: string; matches: { offset: number; command: string; decision: string }[] }[];
    expect(rec.map((r) => r.id)).toEqual([a]);
    expect(rec[0]?.matches).toEqual([{ offset: expect.any(Number), command: 'uname -s', decision: 'allow' }]);
    expect((await http(h.base, 'GET', '/api/sessions?q=no-such-command', { cookie: dave })).json.recorded).toEqual([]);
  });

  it('searches and shows command lines redacted: a guessed secret finds nothing, the audit event keeps it', async () => {
    expect((await http(h.base, 'GET', '/api/sessions?q=hunter2', { cookie: dave })).json.recorded).toEqual([]);
    const found = (await http(h.base, 'GET', '/api/sessions?q=token%3D', { cookie: dave })).json.recorded as { id: string; matches: { command: string }[] }[];
    expect(found.map((r) => [r.id, r.matches.map((m) => m.command)])).toEqual([[e, ['echo token=*******']]]);
    const detail = await http(h.base, 'GET', `/api/recordings/${e}`, { cookie: dave });
    expect((detail.json.markers as { command: string }[]).map((m) => m.command)).toContain('echo token=*******');
    expect((detail.json.commands as { command: string }[]).map((c) => c.command)).toContain('echo token=*******');
    expect(detail.text).not.toContain('hunter2');
    expect((await h.broker.store.listCommands(e)).map((c) => c.command)).toEqual(['echo erin-was-here', 'echo token=*******', 'exit']);
    expect((await h.events('command.allowed')).map((ev) => ev.data.command)).toContain('echo token=hunter2');
  });

  it('serves the recording (gzipped on disk) as clean asciicast with command markers', async () => {
    const row = await h.broker.store.getRecording(a);
    expect(row?.path).toMatch(/\.cast\.gz$/);
    const gz = await readFile(join(h.dir, 'recordings', String(row?.path)));
    const closed = (await h.events('recording.closed')).find((ev) => ev.sessionId === a);
    expect(closed?.data).toMatchObject({ path: row?.path, sha256: createHash('sha256').update(gz).digest('hex'), bytes: gz.length });
    expect(row?.sha256).toBe(closed?.data.sha256);

    const detail = (await http(h.base, 'GET', `/api/recordings/${a}`, { cookie: dave })).json;
    const markers = detail.markers as { time: number; decision: string; command: string }[];
    expect(markers.map((m) => [m.decision, m.command])).toEqual([
      ['allow', 'echo first-step'],
      ['allow', 'uname -s'],
      ['allow', expect.stringContaining('printf')],
      ['allow', 'echo last-step'],
      ['allow', 'exit'],
    ]);
    expect(markers.map((m) => m.time)).toEqual([...markers.map((m) => m.time)].sort((x, y) => x - y));
    expect(markers[3]?.time).toBeGreaterThan((markers[0]?.time ?? 0) + 0.3);
    const cast = await http(h.base, 'GET', `/api/recordings/${a}/cast`, { cookie: dave });
    expect(cast.headers['content-type']).toMatch(/^application\/x-asciicast/);
    expect(cast.headers['content-encoding']).toBeUndefined();
    const parsed = parseCast(cast.text);
    expect(cast.text).toBe(gunzipSync(gz).toString('utf8'));
    expect(parsed.header).toMatchObject({ version: 2, session_id: a, user: 'alice', incident: 'INC-7' });
    expect(parsed.events.filter((ev) => ev[1] === 'o').map((ev) => ev[2]).join('')).toContain('clip-done');
    expect(detail).toMatchObject({ cols: parsed.header.width, rows: parsed.header.height, duration: parsed.events.at(-1)?.[0], torn: false });
    // A client that takes gzip gets the file as it lies on disk, not gunzipped and re-encoded by the broker.
    const zipped = await raw(`/api/recordings/${a}/cast`, { Cookie: dave, 'Accept-Encoding': 'br, gzip;q=0.8' });
    expect(zipped.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-length': String(gz.length), 'content-type': expect.stringMatching(/^application\/x-asciicast/) });
    expect(zipped.body.equals(gz)).toBe(true);
    const refused = await raw(`/api/recordings/${a}/cast`, { Cookie: dave, 'Accept-Encoding': 'gzip;q=0, identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    expect(refused.body.toString('utf8')).toBe(cast.text);
  });

  it('gatehouse replay lists markers, plays from one, and strips what acts on the viewer’s terminal', async () => {
    const marks = await cli(['replay', a, '--markers', '--json'], env('dave'));
    expect(marks.code).toBe(0);
    const list = JSON.parse(marks.out) as { n: number; time: number; label: string }[];
    expect(list.map((m) => m.label)).toContain('allow: uname -s');

    const play = await cli(['replay', a, '--speed', '50'], env('dave'));
    expect(play.code).toBe(0);
    expect(play.err).toMatch(new RegExp(`^gatehouse: replaying ${a}: alice on sandbox \\(INC-7\\)`));
    expect(play.out).toContain('first-step');
    expect(play.out).toContain('clip-done');
    expect(play.out).not.toContain('\x1b]52');
    expect(play.out).not.toContain('\x1b]0;');

    const from = await cli(['replay', a, '--from', 'last-step', '--speed', '50'], env('dave'));
    expect(from.code).toBe(0);
    expect(from.out).toContain('last-step');

    const bob = await cli(['replay', a], env('bob'));
    expect(bob.code).toBe(1);
    expect(bob.err).toBe('gatehouse: bob needs one of the roles: auditor, admin\n');
    const missing = await cli(['replay', a, '--from', 'nothing-like-this'], env('dave'));
    expect(missing.code).toBe(2);
  });

  it.each(['diagnose', 'uninspected'])('does not record keystrokes typed at a password prompt (template %s)', async (template) => {
    const before = new Set((await h.events('session.end')).map((ev) => ev.sessionId));
    await h.grant({ user: 'alice', targets: ['sandbox'], incident: 'INC-9', template });
    const ssh = new PtySsh(scope, h.target('alice', 'alice:sandbox'));
    await ssh.waitFor(PROMPT);
    ssh.write("read -s -p 'Password: ' pw; echo len-${#pw}\r");
    await ssh.waitFor(/\rPassword: $/);
    for (const ch of 'S3cretTyped') {
      ssh.write(ch);
      await sleep(10);
    }
    ssh.write('\r');
    await ssh.waitFor('len-11');
    ssh.write('exit\r');
    await ssh.exited;
    const end = await until(async () => (await h.events('session.end')).find((ev) => !before.has(ev.sessionId)), 5_000, 'end');
    const cast = parseCast((await http(h.base, 'GET', `/api/recordings/${String(end.sessionId)}/cast`, { cookie: dave })).text);
    const typed = cast.events.filter((ev) => ev[1] === 'i').map((ev) => ev[2]).join('');
    expect(typed).toContain('read -s');
    expect(typed).not.toMatch(/S3cret|Typed/);
  });
});

describe('a broker killed mid-session', () => {
  it('leaves a recording that is listed as interrupted and plays up to its last second', async () => {
    const p = await prepareBroker(scope, { extra: { listen: { ssh: '127.0.0.1:0', grpc: '127.0.0.1:0', http: '127.0.0.1:0' } } });
    const cfg = await writeConfig(p);
    const b = await spawnBroker(scope, cfg);
    const pub = (await readFile(join(p.dir, 'data/ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    const knownHosts = join(p.dir, 'known_hosts');
    await appendFile(knownHosts, `[127.0.0.1]:${b.ports.ssh} ${pub}\n`);
    const env = { GATEHOUSE_SERVER: `127.0.0.1:${b.ports.grpc}` };
    const req = await cli(['grant', 'request', '--user', 'alice', '--target', 'sandbox', '--incident', 'INC-K', '--duration', '10m', '--reason', 'r', '--json'], { ...env, GATEHOUSE_TOKEN: p.users.alice?.token ?? '' });
    await cli(['grant', 'approve', String((JSON.parse(req.out) as { id: string }).id)], { ...env, GATEHOUSE_TOKEN: p.users.bob?.token ?? '' });
    const ssh = new PtySsh(scope, { port: b.ports.ssh, knownHosts, key: p.users.alice?.key.privatePath ?? '', login: 'alice:sandbox' });
    await ssh.waitFor(PROMPT);
    ssh.write('echo before-the-crash\r');
    await ssh.waitFor('before-the-crash\r\n');
    const day = new Date().toISOString().slice(0, 10).split('-');
    const dir = join(p.dir, 'recordings', ...day);
    const file = join(dir, (await readdir(dir))[0] ?? '');
    // The recorder writes lines out within 500 ms of the output (QUIET_BATCH_MS, thread-port.ts).
    await until(async () => (await readFile(file, 'utf8')).includes('before-the-crash'), 2_000, 'the output in the recording');
    b.child.kill('SIGKILL');
    await b.exited;
    await ssh.exited;
    // The write the crash cut short: a torn last line.
    await appendFile(file, '[9.5, "o", "half a li');

    const b2 = await spawnBroker(scope, cfg);
    const port = (JSON.parse(b2.log().split('\n').find((l) => l.includes('gatehouse broker listening')) ?? '{}') as { http: number }).http;
    const base = `http://127.0.0.1:${port}`;
    const res = await http(base, 'POST', '/api/login', { body: { token: p.users.dave?.token } });
    const cookie = String(res.headers['set-cookie']).split(';')[0] ?? '';
    const rec = ((await http(base, 'GET', '/api/sessions', { cookie })).json.recorded as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(rec).toMatchObject({ user: 'alice', incident: 'INC-K', state: 'interrupted' });
    expect(rec.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The torn last line is dropped; everything before it plays.
    expect((await http(base, 'GET', `/api/recordings/${String(rec.id)}`, { cookie })).json).toMatchObject({ torn: true });
    const cast = await http(base, 'GET', `/api/recordings/${String(rec.id)}/cast`, { cookie });
    expect(cast.status).toBe(200);
    const played = parseCast(cast.text);
    expect(played.torn).toBe(false);
    expect(played.events.filter((ev) => ev[1] === 'o').map((ev) => ev[2]).join('')).toContain('before-the-crash');
    expect(cast.text).not.toContain('half a li');
    b2.child.kill('SIGTERM');
    await b2.exited;
  });
});
