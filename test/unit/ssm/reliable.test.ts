import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, encodeStreamFrame, type AgentMessage } from '../../../src/connectors/ssm/codec.js';
import { encodeAckPayload } from '../../../src/connectors/ssm/messages.js';
import { ReliableChannel, type ReliableOptions } from '../../../src/connectors/ssm/reliable.js';
import { FakeTime } from './fake-time.js';
import { VECTORS } from './vectors.js';

interface Harness {
  readonly channel: ReliableChannel;
  readonly time: FakeTime;
  /** Every frame put on the wire, decoded. */
  readonly wire: AgentMessage[];
  readonly raw: Buffer[];
  readonly delivered: AgentMessage[];
  ready: boolean;
}

function harness(overrides: Partial<ReliableOptions> = {}): Harness {
  const time = new FakeTime();
  const h: Omit<Harness, 'channel'> & { channel?: ReliableChannel } = { time, wire: [], raw: [], delivered: [], ready: true };
  h.channel = new ReliableChannel({
    outgoingType: 'input_stream_data',
    clock: time,
    timers: time,
    transmit: (frame) => {
      h.raw.push(frame);
      h.wire.push(decodeAgentMessage(frame));
    },
    deliver: (m) => {
      if (!h.ready) return false;
      h.delivered.push(m);
      return true;
    },
    ...overrides,
  });
  h.channel.linkUp();
  return h as Harness;
}

function output(seq: number, text = `out-${seq}`): AgentMessage {
  return decodeAgentMessage(encodeStreamFrame('output_stream_data', 1, seq, seq === 0 ? 1 : 0, 1, Buffer.from(text)));
}

function ackFor(seq: number): AgentMessage {
  return decodeAgentMessage(encodeStreamFrame('acknowledge', 1, 0, 3, 0, encodeAckPayload('input_stream_data', '00000000-0000-4000-8000-000000000000', seq)));
}

function ackedSeqs(h: Harness): number[] {
  return h.wire.filter((m) => m.messageType === 'acknowledge').map((m) => JSON.parse(m.payload.toString()).AcknowledgedMessageSequenceNumber as number);
}

function sentSeqs(h: Harness): number[] {
  return h.wire.filter((m) => m.messageType === 'input_stream_data').map((m) => m.sequenceNumber);
}

describe('reliable: sending', () => {
  it('numbers stream frames 0, 1, 2 and buffers them until acked', () => {
    const h = harness();
    for (const k of ['a', 'b', 'c']) h.channel.send(1, Buffer.from(k));
    expect(sentSeqs(h)).toEqual([0, 1, 2]);
    expect(h.wire.map((m) => m.flags)).toEqual([0, 0, 0]);
    expect(h.channel.unackedCount).toBe(3);
    h.channel.receive(ackFor(1));
    expect(h.channel.unackedCount).toBe(2);
    expect(h.channel.oldestUnacked).toBe(0);
    h.channel.receive(ackFor(0));
    expect(h.channel.oldestUnacked).toBe(2);
    h.channel.receive(ackFor(1)); // duplicate ack: ignored
    expect(h.channel.stats.duplicateAcks).toBe(1);
    expect(h.channel.unackedCount).toBe(1);
  });

  it('sets SYN on seq 0 only when asked (the agent does)', () => {
    const h = harness({ outgoingType: 'output_stream_data', synOnFirst: true });
    h.channel.send(1, Buffer.from('a'));
    h.channel.send(1, Buffer.from('b'));
    expect(h.wire.map((m) => [m.messageType, m.sequenceNumber, m.flags])).toEqual([['output_stream_data', 0, 1], ['output_stream_data', 1, 0]]);
  });

  it('calls onOverflow instead of growing past its capacity', () => {
    let overflows = 0;
    const h = harness({ outgoingCapacity: 2, onOverflow: () => overflows++ });
    expect(h.channel.send(1, Buffer.from('a'))).toBe(0);
    expect(h.channel.send(1, Buffer.from('b'))).toBe(1);
    expect(h.channel.send(1, Buffer.from('c'))).toBe(-1);
    expect(overflows).toBe(1);
  });
});

describe('reliable: retransmission and RTO', () => {
  it('resends the oldest un-acked frame, byte-identical, once it is older than the RTO (200 ms initially)', () => {
    const h = harness();
    h.channel.send(1, Buffer.from('a'));
    h.channel.send(1, Buffer.from('b'));
    expect(h.channel.rto).toBe(200);
    h.time.advance(200); // ticks at 100 and 200: age 200 is not > 200
    expect(h.raw).toHaveLength(2);
    h.time.advance(100); // tick at 300: resend the head only
    expect(h.raw).toHaveLength(3);
    expect(h.raw[2]?.equals(h.raw[0] ?? Buffer.alloc(0))).toBe(true);
    h.time.advance(200); // lastSent written back: next resend at 600, not every tick
    expect(h.raw).toHaveLength(3);
    h.time.advance(100);
    expect(sentSeqs(h)).toEqual([0, 1, 0, 0]);
    h.channel.receive(ackFor(0));
    // seq 1, sent at t=0, is now the head and long overdue: the next tick resends it.
    h.time.advance(100);
    expect(sentSeqs(h).slice(4)).toEqual([1]);
    expect(h.channel.stats.retransmissions).toBe(3);
  });

  it('recomputes the RTO on every ack: RTTVAR, SRTT, RTO = SRTT + max(10, 4·RTTVAR)', () => {
    const h = harness();
    h.channel.send(1, Buffer.from('a'));
    h.time.advance(50);
    h.channel.receive(ackFor(0));
    // RTTVAR = 0.75·0 + 0.25·|100 − 50| = 12.5; SRTT = 0.875·100 + 0.125·50 = 93.75
    expect(h.channel.rttVar).toBeCloseTo(12.5);
    expect(h.channel.srtt).toBeCloseTo(93.75);
    expect(h.channel.rto).toBeCloseTo(143.75);
    h.channel.send(1, Buffer.from('b'));
    h.time.advance(93.75);
    h.channel.receive(ackFor(1));
    // RTTVAR = 0.75·12.5 + 0 = 9.375; SRTT unchanged; 4·RTTVAR = 37.5
    expect(h.channel.rto).toBeCloseTo(93.75 + 37.5);
  });

  it('floors the variance term at 10 ms and caps the RTO at 1 s', () => {
    const fast = harness();
    for (let i = 0; i < 200; i++) {
      fast.channel.send(1, Buffer.from('x'));
      fast.time.advance(1);
      fast.channel.receive(ackFor(i));
    }
    expect(fast.channel.srtt).toBeLessThan(2);
    expect(fast.channel.rto).toBeCloseTo(fast.channel.srtt + 10, 0);
    const slow = harness({ resendIntervalMs: 100_000 });
    slow.channel.send(1, Buffer.from('x'));
    slow.time.advance(5000);
    slow.channel.receive(ackFor(0));
    expect(slow.channel.rto).toBe(1000);
  });

  it('gives up after maxResendAttempts', () => {
    let exhausted = 0;
    const h = harness({ maxResendAttempts: 3, onResendExhausted: () => exhausted++ });
    h.channel.send(1, Buffer.from('a'));
    h.time.advance(2000);
    expect(h.channel.stats.retransmissions).toBe(3);
    expect(exhausted).toBeGreaterThan(0);
  });

  it('with the default 3000 resends, gives up after 15 min at the initial 200 ms RTO (not the spec\'s ≈5 min: resends wait for the RTO)', () => {
    let exhaustedAt = -1;
    const h: Harness = harness({ onResendExhausted: () => { if (exhaustedAt < 0) exhaustedAt = h.time.now(); } });
    const t0 = h.time.now();
    h.channel.send(1, Buffer.from('a'));
    h.time.advance(14 * 60_000);
    expect(exhaustedAt).toBe(-1);
    h.time.advance(2 * 60_000);
    expect(h.channel.stats.retransmissions).toBe(3000);
    // A resend on the first 100 ms tick more than 200 ms after the last: every 300 ms.
    expect(exhaustedAt - t0).toBe(3001 * 300);
  });

  it('buffers while the link is down and replays everything un-acked, in order, on linkUp', () => {
    const h = harness();
    h.channel.send(1, Buffer.from('a'));
    h.channel.send(1, Buffer.from('b'));
    h.channel.receive(ackFor(0));
    h.channel.linkDown();
    h.channel.send(1, Buffer.from('c'));
    h.time.advance(5000); // no resends while down
    expect(sentSeqs(h)).toEqual([0, 1]);
    h.channel.linkUp();
    expect(sentSeqs(h)).toEqual([0, 1, 1, 2]);
    expect(h.channel.stats.replayed).toBe(1);
  });

  it('holds new frames while publication is paused; traffic or start_publication releases them', () => {
    const h = harness();
    h.channel.pausePublication();
    h.channel.send(1, Buffer.from('a'));
    h.time.advance(1000);
    expect(sentSeqs(h)).toEqual([]);
    h.channel.receive(output(0));
    expect(sentSeqs(h)).toEqual([0]);
    h.channel.pausePublication();
    h.channel.send(1, Buffer.from('b'));
    h.channel.startPublication();
    expect(sentSeqs(h)).toEqual([0, 1]);
  });
});

describe('reliable: receiving', () => {
  it('delivers in order and acks each frame with the acked seq and id', () => {
    const h = harness();
    const first = decodeAgentMessage(Buffer.from(VECTORS.V4, 'hex'));
    h.channel.receive(first);
    h.channel.receive(output(1));
    expect(h.delivered.map((m) => m.sequenceNumber)).toEqual([0, 1]);
    expect(ackedSeqs(h)).toEqual([0, 1]);
    expect(h.channel.expectedSequenceNumber).toBe(2);
  });

  it('acks V4 with exactly V5 (bar the ack\'s own random id)', () => {
    const h = harness();
    h.channel.receive(decodeAgentMessage(Buffer.from(VECTORS.V4, 'hex')));
    const ack = h.raw[0] ?? Buffer.alloc(0);
    const v5 = Buffer.from(VECTORS.V5, 'hex');
    expect(ack.length).toBe(v5.length);
    expect(ack.subarray(0, 64).equals(v5.subarray(0, 64))).toBe(true);
    expect(ack.subarray(80).equals(v5.subarray(80))).toBe(true);
  });

  it('re-acks duplicates without delivering them again', () => {
    const h = harness();
    h.channel.receive(output(0));
    h.channel.receive(output(1));
    h.channel.receive(output(0));
    h.channel.receive(output(1));
    expect(h.delivered.map((m) => m.sequenceNumber)).toEqual([0, 1]);
    expect(ackedSeqs(h)).toEqual([0, 1, 0, 1]);
    expect(h.channel.stats.duplicatesReceived).toBe(2);
  });

  it('acks and buffers frames that arrive early, then delivers the run in order without acking twice', () => {
    const h = harness();
    h.channel.receive(output(2));
    h.channel.receive(output(3));
    h.channel.receive(output(3));
    expect(h.delivered).toEqual([]);
    expect(ackedSeqs(h)).toEqual([2, 3, 3]);
    h.channel.receive(output(1));
    expect(h.delivered).toEqual([]);
    h.channel.receive(output(0));
    expect(h.delivered.map((m) => m.payload.toString())).toEqual(['out-0', 'out-1', 'out-2', 'out-3']);
    expect(ackedSeqs(h)).toEqual([2, 3, 3, 1, 0]);
    expect(h.channel.expectedSequenceNumber).toBe(4);
    expect(h.channel.bufferedIncoming).toBe(0);
  });

  it('neither acks nor consumes a frame its handler is not ready for; flush() delivers and acks it later', () => {
    const h = harness();
    h.ready = false;
    h.channel.receive(output(0));
    h.channel.receive(output(1)); // early frame: acked and buffered as usual
    expect(ackedSeqs(h)).toEqual([1]);
    expect(h.channel.expectedSequenceNumber).toBe(0);
    h.channel.receive(output(0)); // the peer's retransmission: still not ready
    expect(ackedSeqs(h)).toEqual([1]);
    h.ready = true;
    h.channel.flush();
    expect(h.delivered.map((m) => m.sequenceNumber)).toEqual([0, 1]);
    expect(ackedSeqs(h)).toEqual([1, 0]);
  });

  it('a retransmission of a held frame delivers it once the handler is ready (agent ErrHandlerNotReady path)', () => {
    const h = harness();
    h.ready = false;
    h.channel.receive(output(0));
    h.ready = true;
    h.channel.receive(output(0));
    expect(h.delivered.map((m) => m.sequenceNumber)).toEqual([0]);
    expect(ackedSeqs(h)).toEqual([0]);
  });

  it('drops early frames un-acked when the incoming buffer is full', () => {
    const h = harness({ incomingCapacity: 2 });
    h.channel.receive(output(5));
    h.channel.receive(output(6));
    h.channel.receive(output(7));
    expect(ackedSeqs(h)).toEqual([5, 6]);
    expect(h.channel.stats.droppedIncoming).toBe(1);
  });

  it('does not ack while the link is down (the peer resends later)', () => {
    const h = harness();
    h.channel.linkDown();
    h.channel.receive(output(0));
    expect(h.delivered).toHaveLength(1);
    expect(ackedSeqs(h)).toEqual([]);
    h.channel.linkUp();
    h.channel.receive(output(0));
    expect(ackedSeqs(h)).toEqual([0]);
  });

  it('ignores message types that are not its peer\'s stream or acks', () => {
    const h = harness();
    h.channel.receive(decodeAgentMessage(Buffer.from(VECTORS.V2, 'hex'))); // input_stream_data: our own kind
    expect(h.delivered).toEqual([]);
    expect(h.wire).toEqual([]);
  });
});
