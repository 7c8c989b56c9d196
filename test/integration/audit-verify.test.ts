/**
 * `gatehouse audit verify` and `audit export` as users run them: online (the broker verifies its
 * store), against the store directly (--config), and offline (an export and the public key). Each
 * tampering — an edited event, a deleted one, two swapped, a truncated tail, a changed recording —
 * makes verify exit 1 with one line naming the sequence number and the kind of break.
 */
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { AuditEvent } from '../../src/events/types.js';
import type { VerifyReport } from '../../src/events/verify.js';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { fileScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const files = fileScope();

type Run = CliRun;

const cli = runCli;

/**
 * The same command run inside the test process (a spawned node costs seconds under load): the real
 * argument parsing, output and exit code, with stdout and stderr captured. `env` becomes flags.
 */
async function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const flags = env.GATEHOUSE_SERVER ? ['--server', env.GATEHOUSE_SERVER, '--token', env.GATEHOUSE_TOKEN ?? ''] : [];
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main([...args, ...flags]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let h: Harness;
let as: (user: string) => Record<string, string>;
let pub: string;
let exported: string;
let lines: string[];
/** The checkpoint the SIEM holds: the last one the file sink wrote. */
let siemCopy: string;

beforeAll(async () => {
  h = await startHarness(files);
  as = (user) => ({ GATEHOUSE_SERVER: `127.0.0.1:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users[user]?.token ?? '' });
  await h.grant({ targets: ['sandbox'] });
  for (const word of ['one', 'two']) {
    const r = await runSsh(files, h.target('alice', 'alice:sandbox'), `echo ${word}`);
    expect(r.code).toBe(0);
    await until(async () => (await h.events('recording.closed')).length === (word === 'one' ? 1 : 2));
  }
  await h.broker.checkpointer.checkpoint();
  await h.grant({ targets: ['sandbox'], incident: 'INC-2' });
  await h.broker.checkpointer.checkpoint();
  await h.grant({ targets: ['sandbox'], incident: 'INC-3' }); // an unanchored tail after the last checkpoint
  siemCopy = join(h.dir, 'data', 'events.jsonl');
  const head = (await h.broker.store.eventHead()).seq;
  await until(async () => (await readFile(siemCopy, 'utf8')).trim().split('\n').length >= head);
  pub = join(h.dir, 'data', 'audit_ed25519.pub.pem');
  exported = join(h.dir, 'export.jsonl');
  const r = await cli(['audit', 'export', '--out', exported], as('dave'));
  expect(r.stderr).toBe(`exported ${head} events to ${exported}\n`);
  expect(r.code).toBe(0);
  lines = (await readFile(exported, 'utf8')).trim().split('\n');
});

const seqOf = (line: string): number => (JSON.parse(line) as AuditEvent).seq;

describe('online: the broker verifies its store', () => {
  it('reports OK with the range, checkpoints and recordings (--json for the document)', async () => {
    const r = await cli(['audit', 'verify', '--json'], as('dave'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as VerifyReport;
    expect(doc).toMatchObject({ ok: true, firstSeq: 1, lastSeq: lines.length, break: null, recordings: { checked: 2, problems: [] } });
    expect(doc.checkpoints.count).toBeGreaterThanOrEqual(2);
    const human = await run(['audit', 'verify'], as('root-admin'));
    expect(human.stdout).toMatch(/^OK: events 1\.\.\d+ \(head [0-9a-f]{16}\), \d+ checkpoints, 2 recordings; \d+ events? after the last checkpoint\n$/);
  });

  it('accepts the SIEM anchor, and refuses callers without the auditor or admin role', async () => {
    expect((await run(['audit', 'verify', '--anchor', siemCopy], as('dave'))).code).toBe(0);
    const r = await cli(['audit', 'verify'], as('alice'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gatehouse: alice needs one of the roles: auditor, admin\n');
  });

  it('prints the public key the checkpoints are signed with', async () => {
    const r = await run(['audit', 'pubkey'], as('alice'));
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith((await readFile(pub, 'utf8')).trim())).toBe(true);
    expect(r.stdout).toMatch(/# SHA256:\S{43}\n$/);
  });
});

describe('offline: an export and the public key', () => {
  it('the export is the store, line for line, and verifies (with the anchor and the recordings)', async () => {
    expect(lines.map(seqOf)).toEqual(Array.from({ length: lines.length }, (_, i) => i + 1));
    const r = await run(['audit', 'verify', '--from', exported, '--public-key', pub, '--anchor', siemCopy, '--recordings', join(h.dir, 'recordings')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK: .*anchor \d+ matched, 2 recordings/);
  });

  it('the file sink output verifies too (it is the same format)', async () => {
    expect((await run(['audit', 'verify', '--from', siemCopy, '--public-key', pub])).code).toBe(0);
  });

  it('--from-seq exports from the middle, and that range verifies from there', async () => {
    const part = join(h.dir, 'part.jsonl');
    expect((await run(['audit', 'export', '--from-seq', '5', '--out', part], as('dave'))).code).toBe(0);
    const got = (await readFile(part, 'utf8')).trim().split('\n');
    expect(got).toEqual(lines.slice(4));
    expect((await run(['audit', 'verify', '--from', part, '--from-seq', '5', '--public-key', pub])).code).toBe(0);
    expect((await run(['audit', 'verify', '--from', part, '--public-key', pub])).stderr).toBe('gatehouse: audit chain broken at seq 1: gap (events 1..4 are missing)\n');
  });

  const tampered = async (name: string, edit: (l: string[]) => string[], extra: string[] = []): Promise<Run> => {
    const path = join(h.dir, `${name}.jsonl`);
    await writeFile(path, `${edit([...lines]).join('\n')}\n`);
    return (name === 'edit' ? cli : run)(['audit', 'verify', '--from', path, '--public-key', pub, ...extra]);
  };

  it('an edited event: exit 1, "edited" at its seq', async () => {
    const r = await tampered('edit', (l) => ((l[5] = (l[5] as string).replace('"actor":"bob"', '"actor":"eve"').replace('"actor":"alice"', '"actor":"eve"').replace('"actor":"gatehouse"', '"actor":"eve"')), l));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('gatehouse: audit chain broken at seq 6: edited (event 6 does not match its hash)\n');
  });

  it('a deleted event: "gap"', async () => {
    const r = await tampered('delete', (l) => (l.splice(6, 1), l));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gatehouse: audit chain broken at seq 7: gap (event 7 is missing)\n');
  });

  it('two events swapped: "reordered"', async () => {
    const r = await tampered('swap', (l) => ([l[7], l[8]] = [l[8] as string, l[7] as string], l));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gatehouse: audit chain broken at seq 8: reordered (event 9 comes before event 8)\n');
  });

  it('a line that is not JSON: "malformed"', async () => {
    const r = await tampered('garbled', (l) => ((l[2] = '{"seq": 3, oops'), l));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gatehouse: audit chain broken at seq 3: malformed \(line 3 of \S+garbled\.jsonl is not JSON\)\n$/);
  });

  it('a truncated tail: invisible without an anchor, "truncated" against the SIEM anchor', async () => {
    const anchorSeq = (JSON.parse((await readFile(siemCopy, 'utf8')).trim().split('\n').filter((l) => l.includes('"audit.checkpoint"')).at(-1) as string) as AuditEvent).seq;
    const cut = anchorSeq - 3;
    expect((await tampered('truncated', (l) => l.slice(0, cut))).code).toBe(0);
    const r = await tampered('truncated', (l) => l.slice(0, cut), ['--anchor', siemCopy]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gatehouse: audit chain broken at seq ${cut + 1}: truncated (the chain ends at ${cut}, but the anchor the SIEM holds is checkpoint ${anchorSeq})\n`);
    const json = await tampered('truncated', (l) => l.slice(0, cut), ['--anchor', siemCopy, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, break: { seq: cut + 1, kind: 'truncated' } });
  });

  it('the wrong public key: "untrusted-signer" at the first checkpoint; a bad key file is bad input (exit 2)', async () => {
    const other = join(h.dir, 'other.pub.pem');
    const { generateKeyPairSync } = await import('node:crypto');
    await writeFile(other, generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }));
    const first = lines.findIndex((l) => l.includes('"type":"audit.checkpoint"')) + 1;
    const r = await run(['audit', 'verify', '--from', exported, '--public-key', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^gatehouse: audit chain broken at seq ${first}: untrusted-signer`));
    await writeFile(join(h.dir, 'junk.pem'), 'not a key');
    const bad = await cli(['audit', 'verify', '--from', exported, '--public-key', join(h.dir, 'junk.pem')]);
    expect(bad.code).toBe(2);
    expect((await run(['audit', 'verify', '--from', exported])).stderr).toMatch(/--from needs --public-key/);
  });

  it('a recording file that changed: exit 1, naming the recording and its seq', async () => {
    const recs = join(h.dir, 'recordings-copy');
    const { cp } = await import('node:fs/promises');
    await cp(join(h.dir, 'recordings'), recs, { recursive: true });
    const closed = (await h.events('recording.closed'))[0] as AuditEvent;
    const path = join(recs, String(closed.data.path));
    await writeFile(path, (await readFile(path, 'utf8')).replace('one', 'won'));
    const r = await run(['audit', 'verify', '--from', exported, '--public-key', pub, '--recordings', recs]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gatehouse: recording ${String(closed.data.path)} (seq ${closed.seq}) no longer matches its hash\n`);
  });
});

describe('the store itself (--config), after the broker stopped', () => {
  let config: (db: string) => Promise<string>;
  let db: string;

  beforeAll(async () => {
    await h.close();
    db = join(h.dir, 'data', 'gatehouse.db');
    config = async (path) => {
      const file = join(h.dir, `cfg-${Math.random().toString(36).slice(2)}.yaml`);
      await writeFile(file, stringify({ dataDir: join(h.dir, 'data'), store: { sqlite: path }, recordings: { dir: join(h.dir, 'recordings') }, sinks: [{ file: { path: siemCopy } }] }));
      return file;
    };
  });

  /** A copy of the store with `sql` applied, verified with `gatehouse audit verify --config`. */
  const verifyCopy = async (sql: string, extra: string[] = []): Promise<Run> => {
    const copy = join(h.dir, `db-${Math.random().toString(36).slice(2)}.db`);
    const src = new Database(db);
    await src.backup(copy);
    src.close();
    const d = new Database(copy);
    d.exec(sql);
    d.close();
    return run(['audit', 'verify', '--config', await config(copy), ...extra]);
  };

  it('the untouched store verifies, recordings included', async () => {
    const r = await verifyCopy('SELECT 1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('an edited row: "edited"', async () => {
    const r = await verifyCopy(`UPDATE events SET data = replace(data, 'echo one', 'echo pwnd') WHERE type = 'command.allowed'`);
    const seq = lines.findIndex((l) => l.includes('"type":"command.allowed"')) + 1;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gatehouse: audit chain broken at seq ${seq}: edited (event ${seq} does not match its hash)\n`);
  });

  it('a deleted row: "gap"', async () => {
    const r = await verifyCopy('DELETE FROM events WHERE seq = 4');
    expect(r.stderr).toBe('gatehouse: audit chain broken at seq 4: gap (event 4 is missing)\n');
    expect(r.code).toBe(1);
  });

  it('two rows swapped: "reordered"', async () => {
    const r = await verifyCopy('UPDATE events SET seq = -5 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = 6; UPDATE events SET seq = 6 WHERE seq = -5;');
    expect(r.stderr).toBe('gatehouse: audit chain broken at seq 5: reordered (events 5 and 6 are swapped)\n');
    expect(r.code).toBe(1);
  });

  it('a truncated tail: "truncated", against the sink cursors and against the SIEM anchor', async () => {
    // The SIEM's copy now ends with the shutdown checkpoint.
    const siem = (await readFile(siemCopy, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    const anchorSeq = Number(siem.filter((e) => e.type === 'audit.checkpoint').at(-1)?.seq);
    expect(siem.at(-1)?.type).toBe('audit.checkpoint');
    const cut = anchorSeq - 5;
    const r = await verifyCopy(`DELETE FROM events WHERE seq > ${cut}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^gatehouse: audit chain broken at seq ${cut + 1}: truncated \\(the chain ends at ${cut}, but sink file-0 has delivered up to \\d+\\)\\n$`));
    const anchored = await verifyCopy(`DELETE FROM events WHERE seq > ${cut}; DELETE FROM sink_cursors;`, ['--anchor', siemCopy]);
    expect(anchored.stderr).toBe(`gatehouse: audit chain broken at seq ${cut + 1}: truncated (the chain ends at ${cut}, but the anchor the SIEM holds is checkpoint ${anchorSeq})\n`);
  });

  it('a recording changed on disk: exit 1', async () => {
    const dir = join(h.dir, 'recordings');
    const closed = (await readdir(dir, { recursive: true })).find((f) => String(f).endsWith('.cast'));
    const path = join(dir, String(closed));
    await copyFile(path, `${path}.orig`);
    await writeFile(path, 'overwritten\n', { flag: 'a' });
    const r = await verifyCopy('SELECT 1');
    await copyFile(`${path}.orig`, path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gatehouse: recording \S+ \(seq \d+\) no longer matches its hash\n$/);
  });
});
