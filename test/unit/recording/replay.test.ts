/**
 * `gatehouse replay` timing (src/cli/commands/replay.ts play()), on a test clock: with --from, what
 * came before the marker is drawn at once in one write and what follows keeps its delays from the
 * marker, divided by --speed and capped at --idle-limit; output is sanitized; Ctrl-C stops it.
 */
import { describe, expect, it } from 'vitest';
import { play, type PlayTarget } from '../../../src/cli/commands/replay.js';
import type { Cast } from '../../../src/recording/reader.js';

const cast: Cast = {
  header: { version: 2, width: 80, height: 24 },
  events: [
    [0.5, 'o', 'before '],
    [0.8, 'i', 'ls\r'],
    [1.0, 'm', 'allow: ls'],
    [1.2, 'o', 'one '],
    [2.0, 'o', 'two '],
    [10.0, 'o', 'after a pause '],
    [10.5, 'o', 'end\x1b]52;c;ZXZpbA==\x07.'],
  ],
  torn: false,
};

/** A target on a virtual clock: sleeping advances it, each write is stamped with it (ms). */
function virtual(stopAfter = Infinity): PlayTarget & { writes: [number, string][] } {
  let now = 0;
  const writes: [number, string][] = [];
  return {
    writes,
    write: (text) => {
      writes.push([Math.round(now), text]);
      return undefined;
    },
    sleep: async (ms) => {
      now += ms;
    },
    stopped: () => writes.length >= stopAfter,
  };
}

describe('replay play()', () => {
  it('from a marker: earlier output at once, later output at its delay from the marker / speed, pauses capped', async () => {
    const t = virtual();
    await play(cast, 1.0, 2, 2, t);
    expect(t.writes).toEqual([
      [0, 'before '],
      [100, 'one '], // (1.2 - 1.0) / 2
      [500, 'two '], // + (2.0 - 1.2) / 2
      [1500, 'after a pause '], // + min(8, 2) / 2
      [1750, 'end.'], // + 0.5 / 2, OSC 52 removed
      [1750, ''],
    ]);
  });

  it('from the start: the first output waits for its own time', async () => {
    const t = virtual();
    await play(cast, 0, 1, 5, t);
    expect(t.writes.map(([at]) => at)).toEqual([500, 1200, 2000, 7000, 7500, 7500]);
  });

  it('stops before the next event once stopped (Ctrl-C)', async () => {
    const t = virtual(2);
    await play(cast, 1.0, 1, 2, t);
    expect(t.writes.map(([, text]) => text)).toEqual(['before ', 'one ', '']);
  });
});
