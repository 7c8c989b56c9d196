import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';
import { GatehouseError } from '../../src/domain/errors.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['90', 90_000],
    ['0', 0],
    ['0s', 0],
    [' 15m ', 900_000],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '   ', 'forever', '1x', '1.5h', '-1h', 'h', '1h 30m', '30M', '1hh', 'm30', '1' + 'h'.repeat(40), '9'.repeat(20) + 'd'])('refuses %j with GH_ERR_BAD_DURATION', (text) => {
    let error: unknown;
    try {
      parseDuration(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('GH_ERR_BAD_DURATION');
    expect((error as GatehouseError).message).toBe(`invalid duration ${JSON.stringify(text.slice(0, 40))}: use forms like 90s, 30m, 1h30m, 2d`);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [1, '1ms'],
    [1_000, '1s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [93_784_005, '1d2h3m4s5ms'],
  ])('%d ms is %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 86_400_000 * 3 + 7]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
