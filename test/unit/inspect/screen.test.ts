/** The emulator wrapper on a real @xterm/headless terminal: reading lines, hooks, floods. */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/domain/clock.js';
import { cursorLine } from '../../../src/inspect/line.js';
import { FLOOD_BYTES, FLOOD_QUIET_MS, Screen, TAIL_BYTES } from '../../../src/inspect/screen.js';
import { until } from '../../fixtures/scope.js';

function screen(cols = 20, rows = 5): { s: Screen; marks: string[]; alt: boolean[]; pasteOns: number[] } {
  const marks: string[] = [];
  const alt: boolean[] = [];
  const pasteOns: number[] = [];
  const s = new Screen(cols, rows, systemClock, { mark: (p) => marks.push(p), altScreen: (a) => alt.push(a), pasteModeOn: () => pasteOns.push(1) });
  return { s, marks, alt, pasteOns };
}

const fed = (s: Screen, text: string): Promise<void> => {
  s.feed(Buffer.from(text));
  return new Promise((r) => s.whenCaughtUp(r));
};

describe('Screen', () => {
  it('shows the line as the shell drew it: wraps joined, erasures applied', async () => {
    const { s } = screen(20, 5);
    await fed(s, '$ echo 0123456789abcdefghij end');
    expect(cursorLine(s)).toMatchObject({ ok: true, text: '$ echo 0123456789abcdefghij end', top: 0 });
    await fed(s, '\r\n$ ls  \b \b\b \b');
    expect(cursorLine(s)).toMatchObject({ ok: true, text: '$ ls', before: '$ ls', trailingSpace: true });
    await fed(s, '\x1b[K');
    expect(cursorLine(s)).toMatchObject({ ok: true, trailingSpace: false });
    s.close();
  });

  it('reports OSC 133 marks in stream order, alternate-screen switches and bracketed paste', async () => {
    const { s, marks, alt, pasteOns } = screen();
    await fed(s, '\x1b]133;A;gh=1\x07$ \x1b]133;B;gh=1\x07\x1b[?2004h\x1b[?1049hfull\x1b[?1049l');
    expect(marks).toEqual(['A;gh=1', 'B;gh=1']);
    expect(alt).toEqual([true, false]);
    expect(pasteOns).toEqual([1]);
    expect(s.bracketedPaste).toBe(true);
    s.close();
  });

  it('stops feeding under heavy output, keeps memory bounded, and rebuilds from the tail', async () => {
    const { s, alt } = screen(40, 5);
    const line = Buffer.from(`${'x'.repeat(38)}\r\n`);
    const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line)); // 40 KiB
    let flooded = false;
    for (let i = 0; i < 64; i++) {
      s.feed(chunk);
      if (s.flood) flooded = true;
    }
    expect(flooded).toBe(true);
    expect(s.known).toBe(false);
    // Inside the flood: a full-screen program starts, then the prompt comes.
    s.feed(Buffer.from('\x1b[?1049hTOP\r\n'));
    s.feed(Buffer.from('last line\r\n$ '));
    await until(() => !s.flood && s.caughtUp, 5_000, 'flood end');
    expect(FLOOD_QUIET_MS).toBeLessThan(100);
    expect(TAIL_BYTES).toBeLessThan(FLOOD_BYTES);
    expect(s.altActive).toBe(true);
    expect(alt.at(-1)).toBe(true);
    expect(cursorLine(s)).toMatchObject({ ok: true, text: '$', before: '$ ' });
    expect(s.text(s.cursorY - 1, true)).toBe('last line');
    s.close();
  });
});
