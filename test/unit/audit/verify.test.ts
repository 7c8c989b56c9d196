/**
 * The verifier names the first broken link by sequence number and kind: edits, deletions,
 * reorderings (in an export and in the store), relinks, forged or untrusted checkpoints, truncation
 * against an anchor, and recording files that no longer match.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/events/types.js';
import { anchorProblem, ChainVerifier, type VerifierOptions, type VerifyReport } from '../../../src/events/verify.js';
import { failureLine, summaryLine, verifyRecordings } from '../../../src/events/verify-report.js';
import { hashFile } from '../../../src/recording/writer.js';
import { seal } from '../../../src/events/chain.js';
import { ChainBuilder, draft, edited, rehash, testKey } from './chain-fixture.js';

const key = testKey();
const other = testKey();

function run(events: readonly unknown[], opts: Partial<VerifierOptions> = {}, extra?: Parameters<ChainVerifier['finish']>[0]): VerifyReport {
  const v = new ChainVerifier({ trustedKeys: [key.publicKey], ...opts });
  for (const e of events) if (!v.push(e)) break;
  return v.finish(extra);
}

/** 12 events: checkpoints at 4, 8 and 12. */
function chain(): AuditEvent[] {
  return new ChainBuilder(key).plan('eeeceeeceeec').events;
}

describe('ChainVerifier: an intact chain', () => {
  it('verifies links and checkpoints and reports the range', () => {
    const events = chain();
    const r = run(events);
    expect(r).toMatchObject({ ok: true, firstSeq: 1, lastSeq: 12, events: 12, duplicates: 0, break: null, unanchoredTail: 0 });
    expect(r.checkpoints).toMatchObject({ count: 3, lastSeq: 12 });
    expect(r.headHash).toBe(events[11]?.hash);
    expect(summaryLine(r)).toMatch(/^OK: events 1\.\.12 \(head [0-9a-f]{16}\), 3 checkpoints$/);
    expect(failureLine(r)).toBeNull();
  });

  it('counts the unanchored tail after the last checkpoint', () => {
    const events = new ChainBuilder(key).plan('eeceee').events;
    expect(run(events).unanchoredTail).toBe(3);
  });

  it('skips exact duplicates, as an at-least-once sink writes them', () => {
    const events = chain();
    const withDups = [...events.slice(0, 6), ...events.slice(3, 6), ...events.slice(6)];
    expect(run(withDups)).toMatchObject({ ok: true, events: 12, duplicates: 3 });
  });

  it('verifies an empty chain', () => {
    expect(run([])).toMatchObject({ ok: true, events: 0, lastSeq: null });
  });
});

describe('ChainVerifier: tampering', () => {
  it('an edited event: edited, at its seq', () => {
    const events = chain();
    events[4] = edited(events[4] as AuditEvent, { user: 'mallory' });
    expect(run(events).break).toMatchObject({ seq: 5, kind: 'edited' });
  });

  it('an edited payload: edited', () => {
    const events = chain();
    events[6] = edited(events[6] as AuditEvent, { data: { command: 'rm -rf /', reasons: [], mode: 'exec' } });
    expect(run(events).break).toMatchObject({ seq: 7, kind: 'edited' });
  });

  it('an added field is an edit too', () => {
    const events = chain();
    events[2] = { ...(events[2] as AuditEvent), extra: 1 } as AuditEvent;
    expect(run(events).break).toMatchObject({ seq: 3, kind: 'edited' });
  });

  it('a deleted event: gap, naming the missing seq', () => {
    const events = chain();
    events.splice(5, 1);
    const r = run(events);
    expect(r.break).toMatchObject({ seq: 6, kind: 'gap', detail: 'event 6 is missing' });
    expect(failureLine(r)).toBe('audit chain broken at seq 6: gap (event 6 is missing)');
  });

  it('several deleted events: gap, naming the range', () => {
    const events = chain();
    events.splice(5, 3);
    expect(run(events).break).toMatchObject({ seq: 6, kind: 'gap', detail: 'events 6..8 are missing' });
  });

  it('a deleted first event: gap at 1', () => {
    expect(run(chain().slice(1)).break).toMatchObject({ seq: 1, kind: 'gap' });
  });

  it('two lines swapped in an export: reordered', () => {
    const events = chain();
    [events[4], events[5]] = [events[5] as AuditEvent, events[4] as AuditEvent];
    expect(run(events).break).toMatchObject({ seq: 5, kind: 'reordered' });
  });

  it('an event moved later in an export: reordered', () => {
    const events = chain();
    const [moved] = events.splice(2, 1);
    events.splice(8, 0, moved as AuditEvent);
    expect(run(events).break).toMatchObject({ seq: 3, kind: 'reordered' });
  });

  it('two rows swapped in the store (sequence numbers exchanged): reordered', () => {
    const events = chain();
    const a = events[4] as AuditEvent;
    const b = events[5] as AuditEvent;
    events[4] = { ...b, seq: 5 };
    events[5] = { ...a, seq: 6 };
    expect(run(events).break).toMatchObject({ seq: 5, kind: 'reordered', detail: 'events 5 and 6 are swapped' });
  });

  it('an event replaced by a forged one with its own valid hash: relinked', () => {
    const events = chain();
    const forged = new ChainBuilder(key).plan('eeeee').events[4] as AuditEvent;
    events[4] = forged;
    expect(run(events).break).toMatchObject({ seq: 5, kind: 'relinked' });
  });

  it('a deletion hidden by resealing the next event in its place: relinked, where the old chain resumes', () => {
    const events = new ChainBuilder(key).plan('eeee').events;
    // Drop event 2 and reseal event 3 as "2" on top of event 1: its own hash is consistent...
    const { prevHash: _p, hash: _h, seq: _s, ...body3 } = events[2] as AuditEvent;
    const resealed = seal(events[0] as AuditEvent, body3);
    // ...but the original event 3, still in place after it, no longer links to it.
    const forged = [events[0], resealed, events[2]];
    expect(run(forged).break).toMatchObject({ seq: 3, kind: 'relinked' });
  });

  it('an edit with the rest of the chain rehashed: the next checkpoint no longer matches', () => {
    const events = chain();
    events[4] = edited(events[4] as AuditEvent, { user: 'mallory' });
    const r = run(rehash(events, 4));
    expect(r.break).toMatchObject({ seq: 8, kind: 'checkpoint-mismatch' });
    expect(r.break?.detail).toContain('the last good checkpoint is 4');
  });

  it('a rehashed chain with a forged checkpoint head: bad-signature', () => {
    const events = chain();
    events[4] = edited(events[4] as AuditEvent, { user: 'mallory' });
    let forged = rehash(events, 4);
    const cp = forged[7] as AuditEvent;
    forged[7] = { ...cp, data: { ...cp.data, head: (forged[6] as AuditEvent).hash } };
    forged = rehash(forged, 7);
    expect(run(forged).break).toMatchObject({ seq: 8, kind: 'bad-signature' });
  });

  it('a checkpoint by an untrusted key: untrusted-signer', () => {
    const b = new ChainBuilder(key).plan('eee');
    b.checkpoint(other);
    expect(run(b.events).break).toMatchObject({ seq: 4, kind: 'untrusted-signer' });
    expect(run(b.events, { trustedKeys: [key.publicKey, other.publicKey] }).ok).toBe(true);
  });

  it('a checkpoint that skips its predecessor: checkpoint-fork', () => {
    const b = new ChainBuilder(key).plan('eeceee');
    b.checkpoint(key, null);
    expect(run(b.events).break).toMatchObject({ seq: 7, kind: 'checkpoint-fork' });
  });

  it('checkpoints of two keys chain separately', () => {
    const b = new ChainBuilder(key).plan('ec');
    b.checkpoint(other);
    b.plan('ec');
    b.checkpoint(other);
    expect(run(b.events, { trustedKeys: [key.publicKey, other.publicKey] })).toMatchObject({ ok: true, checkpoints: { count: 4 } });
  });

  it('a malformed line: malformed', () => {
    const events: unknown[] = chain();
    events[3] = { seq: 4, hello: 'world' };
    expect(run(events).break).toMatchObject({ seq: 4, kind: 'malformed' });
  });

  it('input that is not an event at all: malformed, at the next seq', () => {
    const v = new ChainVerifier({ trustedKeys: [key.publicKey] });
    for (const e of chain().slice(0, 3)) v.push(e);
    v.reject('line 4 of x.jsonl is not JSON');
    expect(v.finish().break).toEqual({ seq: 4, kind: 'malformed', detail: 'line 4 of x.jsonl is not JSON' });
  });

  it('a lone surrogate (an edited export with a bare \\ud800): malformed, not a crash', () => {
    const events = chain();
    events[2] = edited(events[2] as AuditEvent, { user: 'mal\ud800' });
    expect(run(events).break).toMatchObject({ seq: 3, kind: 'malformed', detail: expect.stringContaining('lone surrogate') as unknown });
    const anchor = edited(events[3] as AuditEvent, { actor: '\udc00' });
    expect(anchorProblem(anchor, [key.publicKey])).toBe('its content does not match its hash');
  });

  it('an unknown event type: malformed', () => {
    const events = chain();
    events[1] = edited(events[1] as AuditEvent, { type: 'made.up' as AuditEvent['type'] });
    expect(run(events).break).toMatchObject({ seq: 2, kind: 'malformed' });
  });
});

describe('ChainVerifier: anchors and truncation', () => {
  const events = chain();
  const anchor = events[7] as AuditEvent; // checkpoint 8

  it('a chain that reaches the anchor and agrees with it verifies', () => {
    expect(run(events, { anchor })).toMatchObject({ ok: true, anchor: { seq: 8, covers: 7, matched: true } });
  });

  it('a truncated tail: truncated, at the first missing seq', () => {
    const r = run(events.slice(0, 6), { anchor });
    expect(r.break).toMatchObject({ seq: 7, kind: 'truncated' });
    expect(r.break?.detail).toContain('the anchor the SIEM holds is checkpoint 8');
  });

  it('without an anchor the same truncation is invisible (the limit, stated)', () => {
    expect(run(events.slice(0, 6)).ok).toBe(true);
  });

  it('a truncated and re-grown chain: rewritten, at the anchor', () => {
    const regrown = new ChainBuilder(key);
    for (const { seq: _s, prevHash: _p, hash: _h, ...e } of events.slice(0, 5)) regrown.add(e);
    regrown.plan('eeeeee');
    expect(run(regrown.events, { anchor }).break).toMatchObject({ seq: 8, kind: 'rewritten' });
  });

  it('an anchor before a partial range: anchor-out-of-range', () => {
    expect(run(events.slice(9), { anchor, from: 10 }).break).toMatchObject({ seq: 8, kind: 'anchor-out-of-range' });
  });

  it("the store's head and sink cursors beyond the chain: truncated", () => {
    expect(run(events.slice(0, 10), {}, { storeHead: { seq: 12, hash: 'x' } }).break).toMatchObject({ seq: 11, kind: 'truncated' });
    expect(run(events.slice(0, 10), {}, { cursors: { siem: 11 } }).break).toMatchObject({ seq: 11, kind: 'truncated', detail: 'the chain ends at 10, but sink siem has delivered up to 11' });
    expect(run(events, {}, { storeHead: { seq: 12, hash: 'x' }, cursors: { siem: 12 } }).ok).toBe(true);
  });

  it('anchorProblem accepts a signed checkpoint and refuses others', () => {
    expect(anchorProblem(anchor, [key.publicKey])).toBeNull();
    expect(anchorProblem(anchor, [other.publicKey])).toContain('not a trusted key');
    expect(anchorProblem(events[0] as AuditEvent, [key.publicKey])).toContain('not audit.checkpoint');
    expect(anchorProblem({ ...anchor, time: '2030-01-01T00:00:00.000Z' }, [key.publicKey])).toBe('its content does not match its hash');
  });
});

describe('ChainVerifier: a partial range (an export from seq N)', () => {
  it('takes the first event on trust and verifies from there', () => {
    expect(run(chain().slice(5), { from: 6 })).toMatchObject({ ok: true, firstSeq: 6, lastSeq: 12 });
  });

  it('still fails when the range does not start where it should', () => {
    expect(run(chain().slice(6), { from: 6 }).break).toMatchObject({ seq: 6, kind: 'gap' });
  });
});

describe('ChainVerifier: any single tamper is found and named (property)', () => {
  it('edit, delete or swap at any position', () => {
    const base = new ChainBuilder(key).plan('eeeceeeceeeceeeceeec').events;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: base.length - 2 }), fc.constantFrom('edit', 'delete', 'swap'), (i, how) => {
        const events = [...base];
        const seq = i + 1;
        if (how === 'edit') events[i] = edited(events[i] as AuditEvent, { time: '2031-01-01T00:00:00.000Z' });
        if (how === 'delete') events.splice(i, 1);
        if (how === 'swap') [events[i], events[i + 1]] = [events[i + 1] as AuditEvent, events[i] as AuditEvent];
        const r = run(events);
        expect(r.ok).toBe(false);
        expect(r.break?.seq).toBe(seq);
        expect(r.break?.kind).toBe({ edit: 'edited', delete: 'gap', swap: 'reordered' }[how]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('verifyRecordings', () => {
  it('re-hashes each claimed recording and names the missing and the changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-rec-'));
    try {
      const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
      await writeFile(join(dir, 'a.cast'), 'alpha');
      await writeFile(join(dir, 'b.cast'), 'beta, edited');
      const b = new ChainBuilder(key);
      b.add(draft('recording.closed', { path: 'a.cast', sha256: sha('alpha'), bytes: 5, truncated: false }));
      b.add(draft('recording.closed', { path: 'b.cast', sha256: sha('beta'), bytes: 4, truncated: false }));
      b.add(draft('recording.closed', { path: 'c.cast', sha256: sha('gamma'), bytes: 5, truncated: false }));
      b.add(draft('recording.closed', { path: '../outside.cast', sha256: sha('x'), bytes: 1, truncated: false }));
      const v = new ChainVerifier({ trustedKeys: [key.publicKey] });
      for (const e of b.events) v.push(e);
      const r = await verifyRecordings(v.finish(), v.recordingClaims, dir, hashFile);
      expect(r.ok).toBe(false);
      expect(r.recordings.checked).toBe(4);
      expect(r.recordings.problems.map((p) => [p.seq, p.path, p.problem])).toEqual([
        [2, 'b.cast', 'mismatch'],
        [3, 'c.cast', 'missing'],
        [4, '../outside.cast', 'missing'],
      ]);
      expect(r.recordings.problems[0]?.actualSha256).toBe(sha('beta, edited'));
      expect(failureLine(r)).toBe('recording b.cast (seq 2) no longer matches its hash; 2 more');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
