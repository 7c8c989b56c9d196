/**
 * OutputGate with the reliable layer it sits on: a channel_closed that arrives while output is
 * held behind a sequence gap (spec §6.4: it is not sequenced, so it can overtake retransmissions)
 * waits a bounded time for the gap to fill, then lets the close through; it never hangs.
 */
import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, encodeStreamFrame, type AgentMessage } from '../../../src/connectors/ssm/codec.js';
import type { ChannelClosed } from '../../../src/connectors/ssm/messages.js';
import { OutputGate } from '../../../src/connectors/ssm/output-gate.js';
import { ReliableChannel } from '../../../src/connectors/ssm/reliable.js';
import type { ExitStatus } from '../../../src/connectors/types.js';
import { FakeTime } from './fake-time.js';

const GRACE_MS = 2000;
const CLOSED: ChannelClosed = { messageId: '', createdDate: '', destinationId: 'i-0', sessionId: 's', schemaVersion: 1, output: '' };

function output(seq: number): AgentMessage {
  return decodeAgentMessage(encodeStreamFrame('output_stream_data', 1, seq, 0, 1, Buffer.from(`o${seq};`)));
}

function setup(): { time: FakeTime; rc: ReliableChannel; gate: OutputGate; seen: string[]; abandoned: number[] } {
  const time = new FakeTime();
  const seen: string[] = [];
  const abandoned: number[] = [];
  let gate: OutputGate | undefined;
  const rc = new ReliableChannel({
    outgoingType: 'input_stream_data',
    clock: time,
    timers: time,
    transmit: () => {},
    deliver: (m) => {
      if (gate === undefined || !gate.canTake()) return false;
      gate.take(m.payloadType, m.payload);
      return true;
    },
  });
  rc.linkUp();
  gate = new OutputGate({
    sink: {
      data: (d) => seen.push(d.toString()),
      stderr: () => {},
      drain: () => {},
      exit: (_: ExitStatus) => {},
      closed: () => {},
    },
    pauseBufferBytes: 6,
    flushReliable: () => rc.flush(),
    heldInReliable: () => rc.bufferedIncoming,
    onExitCode: () => {},
    onDeferredClose: () => seen.push('CLOSE'),
    discardBehindGap: () => rc.discardBehindGap(),
    onGapAbandoned: (n) => abandoned.push(n),
    closeGraceMs: GRACE_MS,
    timers: time,
  });
  gate.open();
  return { time, rc, gate, seen, abandoned };
}

/** Lets the gate's post-delivery check (a microtask) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('output gate: channel_closed behind a sequence gap', () => {
  it('delivers a late frame that fills the gap, then the rest in order, then the close', async () => {
    const { rc, gate, seen, time } = setup();
    rc.receive(output(0));
    rc.receive(output(2));
    rc.receive(output(3));
    expect(gate.holdClose(CLOSED)).toBe(true);
    time.advance(500);
    rc.receive(output(1));
    await settle();
    expect(seen).toEqual(['o0;', 'o1;', 'o2;', 'o3;', 'CLOSE']);
    // The grace timer was cancelled with the release: nothing happens twice.
    time.advance(GRACE_MS * 2);
    await settle();
    expect(seen.filter((s) => s === 'CLOSE')).toHaveLength(1);
  });

  it('gives the gap closeGraceMs, then delivers the in-order run, drops what follows the gap, and closes', async () => {
    const { rc, gate, seen, time, abandoned } = setup();
    rc.receive(output(0));
    rc.receive(output(2));
    rc.receive(output(3));
    expect(gate.holdClose(CLOSED)).toBe(true);
    time.advance(GRACE_MS - 1);
    expect(seen).toEqual(['o0;']);
    time.advance(1);
    expect(seen).toEqual(['o0;', 'CLOSE']);
    expect(abandoned).toEqual([2]);
    expect(rc.stats.discardedBehindGap).toBe(2);
    expect(rc.bufferedIncoming).toBe(0);
  });

  it('stops waiting at once when no late frame can come (the socket is gone)', () => {
    const { rc, gate, seen, abandoned } = setup();
    rc.receive(output(0));
    rc.receive(output(1));
    rc.receive(output(3));
    expect(gate.holdClose(CLOSED)).toBe(true);
    gate.stopWaitingForGap();
    expect(seen).toEqual(['o0;', 'o1;', 'CLOSE']);
    expect(abandoned).toEqual([1]);
  });

  it('does not bound a close held for the session\'s own pause: that output arrived and all of it is delivered', async () => {
    const { rc, gate, seen, time, abandoned } = setup();
    gate.pause();
    // 6 bytes are acked and queued while paused; o2 and o3 stay in the reliable layer, in order.
    for (const seq of [0, 1, 2, 3]) rc.receive(output(seq));
    expect(gate.holdClose(CLOSED)).toBe(true);
    time.advance(GRACE_MS * 10);
    await settle();
    expect(seen).toEqual([]);
    gate.resume();
    expect(seen).toEqual(['o0;', 'o1;', 'o2;', 'o3;', 'CLOSE']);
    expect(abandoned).toEqual([]);
  });

  it('after the grace, a gap left while paused is given up on at resume, not waited for', () => {
    const { rc, gate, seen, time, abandoned } = setup();
    gate.pause();
    rc.receive(output(0));
    rc.receive(output(2));
    expect(gate.holdClose(CLOSED)).toBe(true);
    time.advance(GRACE_MS);
    expect(seen).toEqual([]);
    gate.resume();
    expect(seen).toEqual(['o0;', 'CLOSE']);
    expect(abandoned).toEqual([1]);
  });

  it('lets the close through at once when nothing is held', () => {
    const { rc, gate, seen } = setup();
    rc.receive(output(0));
    expect(gate.holdClose(CLOSED)).toBe(false);
    expect(seen).toEqual(['o0;']);
  });
});
