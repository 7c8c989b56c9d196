/**
 * DataChannel after channel_closed, against a scripted agent on a real WebSocket: output frames
 * that arrive after the (unsequenced) channel_closed are still verified, acked and delivered, and
 * when the socket goes the channel says no more can come, without trying to resume.
 */
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeAgentMessage, encodeAgentMessage, encodeStreamFrame, type AgentMessage } from '../../../src/connectors/ssm/codec.js';
import { DataChannel } from '../../../src/connectors/ssm/data-channel.js';
import { encodeChannelClosedPayload, parseAckSequence } from '../../../src/connectors/ssm/messages.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A one-socket agent: resolves with the server side of the socket once the open message arrived. */
async function scriptedAgent(): Promise<{ url: string; socket: Promise<{ ws: WebSocket; frames: AgentMessage[] }> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  }));
  const socket = new Promise<{ ws: WebSocket; frames: AgentMessage[] }>((resolve) => {
    wss.once('connection', (ws) => {
      const frames: AgentMessage[] = [];
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) resolve({ ws, frames });
        else frames.push(decodeAgentMessage(data));
      });
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/data-channel/s-1`, socket };
}

function output(seq: number): Buffer {
  return encodeStreamFrame('output_stream_data', Date.now(), seq, seq === 0 ? 1 : 0, 1, Buffer.from(`o${seq};`));
}

function channelClosed(): Buffer {
  const payload = encodeChannelClosedPayload({ messageId: '9f01a37d-bffe-4ce1-830f-664914534e2a', createdDate: '2024-01-01', destinationId: 'i-0', sessionId: 's-1', schemaVersion: 1, output: '' });
  return encodeAgentMessage({ messageType: 'channel_closed', createdDate: Date.now(), sequenceNumber: 0, flags: 0, payloadType: 0, payload });
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('data channel: after channel_closed', () => {
  it('still acks and delivers output that arrives after it, until the socket goes; then it does not resume', async () => {
    const agent = await scriptedAgent();
    const delivered: string[] = [];
    let closedCalls = 0;
    let overCalls = 0;
    let resumes = 0;
    const failures: Error[] = [];
    const channel = new DataChannel({
      streamUrl: agent.url,
      tokenValue: 'token',
      clientId: 'c',
      logger: pino({ level: 'silent' }),
      resume: () => {
        resumes++;
        return Promise.reject(new Error('no resume after channel_closed'));
      },
      deliver: (m) => {
        delivered.push(m.payload.toString());
        return true;
      },
      onAcked: () => {},
      onChannelClosed: () => closedCalls++,
      onLateFramesOver: () => overCalls++,
      onFailed: (e) => failures.push(e),
    });
    cleanups.push(() => channel.close());
    await channel.connect();
    const { ws, frames } = await agent.socket;
    const acked = (): number[] => frames.filter((f) => f.messageType === 'acknowledge').map((f) => parseAckSequence(f.payload));

    ws.send(output(0));
    ws.send(output(2));
    ws.send(channelClosed());
    await until(() => closedCalls === 1, 'channel_closed');
    expect(channel.isEnded).toBe(true);
    // Input after channel_closed goes nowhere.
    expect(channel.send(1, Buffer.from('x'))).toBe(false);

    ws.send(output(1));
    // A frame with a bad digest is still refused (and left un-acked) after channel_closed.
    const corrupt = output(3);
    corrupt[80] = (corrupt[80] ?? 0) ^ 0xff;
    ws.send(corrupt);
    ws.send(output(3));
    await until(() => delivered.length === 4, 'late frames');
    expect(delivered).toEqual(['o0;', 'o1;', 'o2;', 'o3;']);
    await until(() => acked().length === 4, 'acks');
    expect(acked().sort()).toEqual([0, 1, 2, 3]);
    expect(channel.stats.badDigests).toBe(1);
    expect(frames.filter((f) => f.messageType === 'input_stream_data')).toEqual([]);

    ws.close(1000);
    await until(() => overCalls === 1, 'onLateFramesOver');
    await new Promise((r) => setTimeout(r, 300));
    expect(resumes).toBe(0);
    expect(failures).toEqual([]);
    expect(closedCalls).toBe(1);
  });
});
