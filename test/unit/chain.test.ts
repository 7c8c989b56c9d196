/**
 * The audit chain: RFC 8785 canonical JSON (what gets hashed) and sealing (the hash links). What
 * detects an edit, a deletion, a reordering or a relinking is ChainVerifier: test/unit/audit/verify.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, wellFormed } from '../../src/events/canonical.js';
import { eventHash, GENESIS, seal } from '../../src/events/chain.js';
import type { AuditEvent, UnsealedEvent } from '../../src/events/types.js';

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the RFC 8785 section 3.2.2 sample exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('sorts keys by UTF-16 code units (RFC 8785 section 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // By code points the emoji (U+1F600) would sort last; by UTF-16 units (D83D) it precedes U+FB33.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","דּ":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts nested objects, keeps array order, omits undefined members', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: 2 }, 1], a: { y: undefined, x: null }, c: undefined })).toBe('{"a":{"x":null},"b":[3,{"a":2,"z":1},1]}');
    expect(canonicalJson([undefined, () => 1])).toBe('[null,null]');
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [1e20, '100000000000000000000'],
    [1e21, '1e+21'],
    [1e-6, '0.000001'],
    [1e-7, '1e-7'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
  ])('serialises the number %d as %s', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
  });

  it.each([NaN, Infinity, -Infinity])('rejects %d', (n) => {
    expect(() => canonicalJson({ n })).toThrow(TypeError);
  });

  it('rejects values JSON cannot hold', () => {
    expect(() => canonicalJson(10n)).toThrow('canonical JSON cannot hold a bigint');
    expect(() => canonicalJson(Symbol('x'))).toThrow(TypeError);
  });

  it.each([
    ['\u0000\u0001\u001f', '"\\u0000\\u0001\\u001f"'],
    ['\b\f\n\r\t', '"\\b\\f\\n\\r\\t"'],
    ['"\\/', '"\\"\\\\/"'],
    ['\u007f\u2028\u2029', '"\u007f\u2028\u2029"'],
    ['é😀', '"é😀"'],
  ])('escapes the string %j as %s', (s, text) => {
    expect(canonicalJson(s)).toBe(text);
  });

  it.each([['\ud800'], ['x\udc00'], ['\ude00\ud83d'], ['a\ud83d']])('rejects the lone surrogate in %j, as a value and as a key (I-JSON)', (s) => {
    expect(() => canonicalJson(s)).toThrow('lone surrogate');
    expect(() => canonicalJson({ data: [s] })).toThrow('lone surrogate');
    expect(() => canonicalJson({ [s]: 1 })).toThrow('lone surrogate');
  });

  it('wellFormed replaces lone surrogates with U+FFFD in strings, arrays and keys, and keeps the rest', () => {
    const input = { '\udc00k': ['\ud800', 1, null, true, { s: 'ok 😀', t: 'x\udfff' }], n: 1.5 };
    const out = wellFormed(input);
    expect(out).toEqual({ '\ufffdk': ['\ufffd', 1, null, true, { s: 'ok 😀', t: 'x\ufffd' }], n: 1.5 });
    expect(canonicalJson(out)).toBe('{"n":1.5,"\ufffdk":["\ufffd",1,null,true,{"s":"ok 😀","t":"x\ufffd"}]}');
    expect(input['\udc00k'][0]).toBe('\ud800');
  });
});

function draft(i: number, data: Record<string, unknown> = { n: i }): UnsealedEvent {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    type: 'grant.requested',
    code: 'GH1000',
    severity: 'notice',
    broker: 'b1',
    actor: 'alice',
    user: 'alice',
    target: 'web-1',
    grantId: 'g-0123456789abcdefghjkm',
    incident: 'INC-1',
    sessionId: null,
    source: null,
    data,
  };
}

function chain(n: number): AuditEvent[] {
  const out: AuditEvent[] = [];
  let head = GENESIS;
  for (let i = 1; i <= n; i++) {
    const e = seal(head, draft(i));
    out.push(e);
    head = e;
  }
  return out;
}

describe('seal', () => {
  it('numbers from the head and links to it', () => {
    const [a, b] = chain(2) as [AuditEvent, AuditEvent];
    expect(GENESIS).toEqual({ seq: 0, hash: '0'.repeat(64) });
    expect(a.seq).toBe(1);
    expect(a.prevHash).toBe(GENESIS.hash);
    expect(b.seq).toBe(2);
    expect(b.prevHash).toBe(a.hash);
  });

  it('hashes SHA-256(prev hash bytes || JCS(event without prevHash and hash))', () => {
    const [a] = chain(1) as [AuditEvent];
    const { prevHash: _p, hash: _h, ...body } = a;
    const expected = createHash('sha256').update(Buffer.alloc(32)).update(canonicalJson(body)).digest('hex');
    expect(a.hash).toBe(expected);
    expect(eventHash(GENESIS.hash, body)).toBe(expected);
  });
});
