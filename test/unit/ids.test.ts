import { afterEach, describe, expect, it, vi } from 'vitest';
import { isId, newEventId, newId } from '../../src/domain/ids.js';

describe('newId', () => {
  afterEach(() => vi.useRealTimers());

  it.each(['g', 's', 'r'] as const)('makes %s- ids of 21 Crockford base32 characters', (prefix) => {
    const id = newId(prefix);
    expect(id).toMatch(new RegExp(`^${prefix}-[0-9a-hjkmnp-tv-z]{21}$`));
    expect(isId(id)).toBe(true);
    expect(isId(id, prefix)).toBe(true);
  });

  it('never repeats (60 random bits)', () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => newId('g')));
    expect(ids.size).toBe(5_000);
  });

  it('sorts by creation time across milliseconds', () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2026, 0, 1));
    const a = newId('s');
    vi.setSystemTime(Date.UTC(2026, 0, 1) + 1);
    const b = newId('s');
    vi.setSystemTime(Date.UTC(2031, 5, 1));
    const c = newId('s');
    expect([c, a, b].sort()).toEqual([a, b, c]);
    // The time part is the 9 characters after the prefix.
    expect(a.slice(2, 11)).not.toBe(b.slice(2, 11));
  });
});

describe('isId', () => {
  it.each([
    ['g-0123456789abcdefghjkm', true],
    ['g-0123456789abcdefghjk', false], // 20 characters
    ['g-0123456789abcdefghjkmn', false], // 22 characters
    ['g-0123456789abcdefghijk', false], // i is not in the alphabet
    ['g-0123456789abcdefghjkl', false], // l
    ['g-0123456789abcdefghjko', false], // o
    ['g-0123456789abcdefghjku', false], // u
    ['G-0123456789ABCDEFGHJKM', false],
    ['x-0123456789abcdefghjkm', false],
    ['g-0123456789abcdefghjkm\n', false],
    ['', false],
  ])('%j is %s', (value, ok) => {
    expect(isId(value)).toBe(ok);
  });

  it('checks the prefix when asked', () => {
    expect(isId('s-0123456789abcdefghjkm', 's')).toBe(true);
    expect(isId('s-0123456789abcdefghjkm', 'g')).toBe(false);
  });
});

describe('newEventId', () => {
  it('is a random UUID', () => {
    const a = newEventId();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newEventId()).not.toBe(a);
  });
});
