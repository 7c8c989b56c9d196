import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, digestMatches, encodeStreamFrame, MessageType, PayloadType, type AgentMessage } from '../../../src/connectors/ssm/codec.js';
import { completeUtf8Length, SimAgent } from '../../../src/connectors/ssm/simulator/agent.js';
import { FakeKms } from '../../../src/connectors/ssm/simulator/fake-kms.js';
import { FaultyPipe, newFaultCounters, NO_FAULTS, seededRandom } from '../../../src/connectors/ssm/simulator/faults.js';
import { FakeTime } from './fake-time.js';
import { TOLERANCE } from './vectors.js';

describe('simulator: UTF-8 chunk boundaries', () => {
  it('keeps an incomplete trailing character for the next frame', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    expect(completeUtf8Length(Buffer.from('abc'))).toBe(3);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), euro]))).toBe(4);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]))).toBe(1);
    expect(completeUtf8Length(Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]))).toBe(1);
    expect(completeUtf8Length(Buffer.from('😀').subarray(0, 3))).toBe(0);
  });
});

describe('simulator: fault injection', () => {
  function run(seed: number, rates: Partial<typeof NO_FAULTS>): { out: string[]; counters: ReturnType<typeof newFaultCounters> } {
    const time = new FakeTime();
    const out: string[] = [];
    const counters = newFaultCounters();
    const config = { ...NO_FAULTS, ...rates, seed };
    const pipe = new FaultyPipe(config, seed, (f) => out.push(f.subarray(0, 4).toString() + (f.length > 80 && f[80] === 0xff ? '!' : '')), time, counters);
    for (let i = 0; i < 400; i++) {
      const frame = Buffer.alloc(120);
      frame.write(String(i).padStart(4, '0'));
      pipe.push(frame, true);
      time.advance(1);
    }
    time.advance(100);
    return { out, counters };
  }

  it('is deterministic for a seed and different across seeds', () => {
    const rates = { dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, badDigestRate: 0.05 };
    expect(run(7, rates)).toEqual(run(7, rates));
    expect(run(7, rates).out).not.toEqual(run(8, rates).out);
  });

  it('drops, duplicates, reorders and corrupts at roughly the configured rates', () => {
    const { out, counters } = run(42, { dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.1, badDigestRate: 0.1 });
    for (const n of [counters.dropped, counters.duplicated, counters.reordered, counters.corrupted]) {
      expect(n).toBeGreaterThan(15);
      expect(n).toBeLessThan(70);
    }
    expect(out.length).toBe(400 - counters.dropped + counters.duplicated);
    const order = out.map((s) => Number(s.slice(0, 4)));
    expect(order.some((n, i) => i > 0 && n < (order[i - 1] ?? 0))).toBe(true);
  });

  it('passes everything through untouched with no faults', () => {
    const { out, counters } = run(1, {});
    expect(out).toEqual(Array.from({ length: 400 }, (_, i) => String(i).padStart(4, '0')));
    expect(counters).toEqual(newFaultCounters());
  });

  it('seededRandom is a repeatable stream in [0, 1)', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    for (let i = 0; i < 100; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('simulator: the agent side of the tolerance vector (spec §13)', () => {
  it('acks [B]\'s frame despite its bad digest and applies its Size to the shell\'s PTY', async () => {
    // What mgs.ts does with every client frame: decode, then hand it to the agent, no digest check.
    const message = decodeAgentMessage(Buffer.from(TOLERANCE, 'hex'));
    expect(digestMatches(message)).toBe(false);
    const frames: AgentMessage[] = [];
    const agent = new SimAgent({
      sessionId: 's-tolerance', targetId: 'i-0123456789abcdef0', documentName: 'SSM-SessionManagerRunShell', command: undefined,
      shell: ['/bin/bash', '--norc', '--noprofile'], env: {}, kmsKeyId: undefined, kms: new FakeKms(), requireChallengeResponse: false,
      handlerReadyDelayMs: 0, handshakeDelayMs: 0, sendWindow: 256, resendIntervalMs: 100, channelClosedVariant: 'canonical',
      publicationFrames: false, onEnded: () => {},
    });
    agent.attach({ send: (frame) => frames.push(decodeAgentMessage(frame)), close: () => {} });
    const output = (): string => {
      const bySeq = new Map<number, string>();
      for (const f of frames) if (f.messageType === MessageType.OutputStreamData) bySeq.set(f.sequenceNumber, f.payload.toString());
      return [...bySeq.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join('');
    };
    try {
      agent.receive(message);
      const acks = frames.filter((f) => f.messageType === MessageType.Acknowledge).map((f) => JSON.parse(f.payload.toString()) as unknown);
      expect(acks).toEqual([{
        AcknowledgedMessageType: 'input_stream_data',
        AcknowledgedMessageId: '9f01a37d-bffe-fce1-730f-664914534e2a',
        AcknowledgedMessageSequenceNumber: 0,
        IsSequentialMessage: true,
      }]);
      expect(agent.reliable.expectedSequenceNumber).toBe(1);
      agent.receive(decodeAgentMessage(encodeStreamFrame('input_stream_data', Date.now(), 1, 0, PayloadType.Output, Buffer.from('stty size\r'))));
      const deadline = Date.now() + 5000;
      while (!/\r18 202\r\n/.test(output())) {
        if (Date.now() > deadline) throw new Error(`no "18 202" from stty; output: ${JSON.stringify(output())}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await agent.terminate('');
    }
    expect(agent.ended).toBe(true);
  });
});
