import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_USERNAME, parseRoute, sanitizeForLog } from '../../src/gateway/username.js';

const GRANT = 'g-0123456789abcdefghjkm';
const fffd = Buffer.from([0x61, 0x6c, 0xff, 0xfe, 0x3a, 0x77]).toString('utf8'); // "al\uFFFD\uFFFD:w", as ssh2 would decode it

describe('parseRoute accepts', () => {
  it.each([
    ['alice:web-1', 'alice', 'web-1', undefined],
    ['alice+web-1', 'alice', 'web-1', undefined],
    [`alice:web-1:${GRANT}`, 'alice', 'web-1', GRANT],
    [`alice+web-1+${GRANT}`, 'alice', 'web-1', GRANT],
    ['_svc.ops-2:Web_1.prod', '_svc.ops-2', 'Web_1.prod', undefined],
    ['a:i-0abc12345678', 'a', 'i-0abc12345678', undefined],
    [`${'a'.repeat(32)}:${'T'.repeat(64)}`, 'a'.repeat(32), 'T'.repeat(64), undefined],
  ])('%j', (name, user, target, grantId) => {
    expect(parseRoute(name)).toEqual({ ok: true, route: { user, target, grantId } });
  });
});

describe('parseRoute refuses', () => {
  it.each([
    ['', 'empty user name'],
    ['a:', 'missing target after the separator'],
    [':b', 'missing user before the separator'],
    [':', 'missing user before the separator'],
    ['a+', 'missing target after the separator'],
    ['a:b:c:d', 'too many parts: use USER:TARGET[:GRANT]'],
    ['a+b+c+d', 'too many parts: use USER:TARGET[:GRANT]'],
    ['a:b:c', 'malformed grant id (expected g-...)'],
    ['a:b:', 'malformed grant id (expected g-...)'],
    [`a:b:${GRANT.toUpperCase()}`, 'malformed grant id (expected g-...)'],
    ['alice', 'user name has no target: use USER:TARGET (or USER+TARGET)'],
    ['A:b', 'malformed user part'],
    ['Alice:web-1', 'malformed user part'],
    ['1alice:web-1', 'malformed user part'],
    [`${'a'.repeat(33)}:b`, 'malformed user part'],
    ['alice+web-1:x', 'malformed user part'], // ':' wins as the separator
    ['alice:-web', 'malformed target part'],
    ['alice:web/1', 'malformed target part'],
    [`a:${'T'.repeat(65)}`, 'malformed target part'],
    ['x'.repeat(4096), `user name longer than ${MAX_USERNAME} characters`],
    [`alice:${'w'.repeat(200)}`, `user name longer than ${MAX_USERNAME} characters`],
    ['alice:web 1', 'user name contains control, space or non-ASCII characters'],
    ['alice :web-1', 'user name contains control, space or non-ASCII characters'],
    ['alice:web-1\x1b[31m', 'user name contains control, space or non-ASCII characters'],
    ['\x1b]0;pwned\x07alice:web-1', 'user name contains control, space or non-ASCII characters'],
    ['alice\x00:web-1', 'user name contains control, space or non-ASCII characters'],
    ['alice:web-1\r\n', 'user name contains control, space or non-ASCII characters'],
    ['alice:web-1\x7f', 'user name contains control, space or non-ASCII characters'],
    [fffd, 'user name contains control, space or non-ASCII characters'],
    ['zoë:web-1', 'user name contains control, space or non-ASCII characters'],
    ['alice\u2028:web-1', 'user name contains control, space or non-ASCII characters'],
  ])('%j: %s', (name, reason) => {
    expect(parseRoute(name)).toEqual({ ok: false, reason });
  });

  it('never echoes the raw name in its reason', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (name) => {
        const r = parseRoute(name);
        if (!r.ok) expect(r.reason).toMatch(/^[\x20-\x7e]+$/);
        else expect(`${r.route.user}:${r.route.target}`).toMatch(/^[\x21-\x7e]+$/);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('sanitizeForLog', () => {
  it.each([
    ['alice:web-1', 'alice:web-1'],
    ['a\x1b[31mb', 'a\\x1b[31mb'],
    ['nul\x00', 'nul\\x00'],
    ['tab\tcr\r', 'tab\\x09cr\\x0d'],
    ['del\x7f', 'del\\x7f'],
    ['zoë', 'zo\\xeb'],
    [fffd, 'al\\xfd\\xfd:w'],
  ])('%j becomes %j', (input, output) => {
    expect(sanitizeForLog(input)).toBe(output);
  });

  it('bounds the length and says how long the original was', () => {
    expect(sanitizeForLog('x'.repeat(4096))).toBe(`${'x'.repeat(80)}...(4096 chars)`);
    expect(sanitizeForLog('abcdef', 3)).toBe('abc...(6 chars)');
  });

  it('never returns control or non-ASCII characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 1, max: 200 }), (text, max) => {
        expect(sanitizeForLog(text, max)).toMatch(/^[\x20-\x7e]*$/);
      }),
      { numRuns: 2_000 },
    );
  });
});
