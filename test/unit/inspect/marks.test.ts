import { describe, expect, it } from 'vitest';
import { CommandMarks } from '../../../src/inspect/marks.js';

const N = 'n0nce';
const mark = (m: CommandMarks, payload: string, at = 0) => m.mark(`${payload};gh=${N}`, at);

function atPrompt(): CommandMarks {
  const m = new CommandMarks();
  m.nonce = N;
  expect(mark(m, 'B')).toEqual({ kind: 'prompt' });
  return m;
}

describe('shell-integration marks', () => {
  it('reports a command from its C to its D with the exit code', () => {
    const m = atPrompt();
    m.release('false');
    expect(mark(m, 'C', 10)).toEqual({ kind: 'none' });
    expect(mark(m, 'D;1', 25)).toEqual({ kind: 'finished', command: 'false', exitCode: 1, durationMs: 15 });
  });

  it('keeps a command typed ahead while the last one ran: its prompt comes before it runs', () => {
    const m = atPrompt();
    m.release('echo one');
    mark(m, 'C', 0);
    m.release('history'); // typed before the shell came back
    expect(mark(m, 'D;0', 5)).toMatchObject({ kind: 'finished', command: 'echo one' });
    mark(m, 'A', 6);
    expect(mark(m, 'B', 6)).toEqual({ kind: 'prompt' });
    expect(mark(m, 'C', 7)).toEqual({ kind: 'none' });
    expect(mark(m, 'D;0', 9)).toEqual({ kind: 'finished', command: 'history', exitCode: 0, durationMs: 2 });
  });

  it('forgets an Enter at the prompt that ran nothing (an empty line)', () => {
    const m = atPrompt();
    m.release(null);
    mark(m, 'B');
    m.release('ls');
    mark(m, 'C', 1);
    expect(mark(m, 'D;0', 2)).toMatchObject({ kind: 'finished', command: 'ls' });
  });

  it('calls a C that no released Enter accounts for unjudged', () => {
    const m = atPrompt();
    expect(mark(m, 'C')).toEqual({ kind: 'unjudged' });
  });
});
