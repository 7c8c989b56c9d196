import { EventEmitter } from 'node:events';
import type { ServerChannel } from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { Upstream } from '../../src/connectors/types.js';
import { Relay } from '../../src/gateway/relay.js';

/** The parts of an ssh2 ServerChannel the relay uses, logging every call in order. */
function fakeChannel(opts: { writeOk?: boolean; hold?: boolean } = {}) {
  const calls: string[] = [];
  /** With `hold`, write callbacks wait here until the test runs them (ssh2 waiting for window). */
  const held: { chunk: Buffer; done: () => void }[] = [];
  const stderr = Object.assign(new EventEmitter(), {
    writableNeedDrain: false,
    write: (b: Buffer | string) => (calls.push(`stderr:${String(b)}`), true),
  });
  const ch = Object.assign(new EventEmitter(), {
    stderr,
    writableNeedDrain: false,
    writableLength: 0,
    write: (b: Buffer | string, cb?: () => void) => {
      calls.push(`write:${String(b)}`);
      // Like a Writable: the callback runs after the write, never inside it.
      if (cb) {
        if (opts.hold) held.push({ chunk: b as Buffer, done: cb });
        else process.nextTick(cb);
      }
      return opts.writeOk ?? true;
    },
    exit: (code: number) => calls.push(`exit:${code}`),
    end: () => calls.push('end'),
    close: () => calls.push('close'),
    pause: () => calls.push('channel.pause'),
    resume: () => calls.push('channel.resume'),
  });
  return { ch: ch as unknown as ServerChannel, calls, held };
}

function fakeUpstream(calls: string[]): Upstream {
  return {
    write: () => true,
    endInput: () => {},
    resize: () => {},
    signal: () => {},
    pause: () => void calls.push('upstream.pause'),
    resume: () => void calls.push('upstream.resume'),
    close: async () => {},
  };
}

const events = { exit: () => {}, closed: () => {}, clientClosed: () => {} };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Relay: target output to the client', () => {
  it('sends the chunks of one tick as one write, in order', async () => {
    const { ch, calls } = fakeChannel();
    const relay = new Relay(ch, null, false, events);
    relay.sink.data(Buffer.from('a'));
    relay.sink.data(Buffer.from('b'));
    relay.sink.data(Buffer.from('c'));
    expect(calls).toEqual([]);
    await tick();
    relay.sink.data(Buffer.from('d'));
    await tick();
    expect(calls).toEqual(['write:abc', 'write:d']);
    expect(relay.stats.bytesOut).toBe(4);
  });

  it('writes gathered output before stderr, a notice or the exit status', async () => {
    const { ch, calls } = fakeChannel();
    const relay = new Relay(ch, null, false, events);
    relay.sink.data(Buffer.from('out1'));
    relay.sink.stderr(Buffer.from('err'));
    relay.sink.data(Buffer.from('out2'));
    relay.notice('revoked', true);
    relay.sink.data(Buffer.from('out3'));
    await relay.finishClient({ code: 3, signal: null });
    expect(calls).toEqual(['write:out1', 'stderr:err', 'write:out2', 'stderr:[gatehouse] revoked\n', 'write:out3', 'exit:3', 'end']);
  });

  it('pauses the upstream when the client cannot take more, and resumes on drain', async () => {
    const { ch, calls } = fakeChannel({ writeOk: false });
    const relay = new Relay(ch, null, false, events);
    relay.attach(fakeUpstream(calls));
    relay.sink.data(Buffer.from('x'));
    relay.sink.data(Buffer.from('y'));
    await tick();
    expect(calls).toEqual(['write:xy', 'upstream.pause']);
    (ch as unknown as EventEmitter).emit('drain');
    expect(calls.at(-1)).toBe('upstream.resume');
  });

  it('holds output back while a write is in flight and sends it as one write when it completes', async () => {
    const { ch, calls, held } = fakeChannel({ hold: true });
    const relay = new Relay(ch, null, false, events);
    relay.attach(fakeUpstream(calls));
    relay.sink.data(Buffer.from('a'));
    relay.sink.data(Buffer.from('b'));
    await tick();
    expect(calls).toEqual(['write:ab']);
    const first = held[0]?.chunk as Buffer;
    relay.sink.data(Buffer.from('c'));
    relay.sink.data(Buffer.from('d'));
    await tick();
    // Nothing more is written, and the gather buffer lent to the first write is left alone.
    expect(calls).toEqual(['write:ab']);
    expect(first.toString()).toBe('ab');
    held.shift()?.done();
    expect(calls).toEqual(['write:ab', 'write:cd']);
    held.shift()?.done();
    relay.sink.data(Buffer.from('e'));
    await tick();
    expect(calls).toEqual(['write:ab', 'write:cd', 'write:e']);
  });

  it('pauses the upstream when 256 KB wait behind the write in flight, and resumes once they are handed on', async () => {
    const { ch, calls, held } = fakeChannel({ hold: true });
    const relay = new Relay(ch, null, false, events);
    relay.attach(fakeUpstream(calls));
    relay.sink.data(Buffer.alloc(1000, 'x'));
    await tick();
    for (let i = 0; i < 8; i++) relay.sink.data(Buffer.alloc(32 * 1024, 'y'));
    expect(calls.filter((c) => c.startsWith('upstream'))).toEqual(['upstream.pause']);
    held.shift()?.done();
    expect(calls.filter((c) => c.startsWith('upstream'))).toEqual(['upstream.pause', 'upstream.resume']);
    expect(calls.filter((c) => c.startsWith('write')).map((c) => c.length - 'write:'.length)).toEqual([1000, 8 * 32 * 1024]);
  });

  it('starts a target paused when 256 KB already wait as it attaches (output during the connect)', async () => {
    const { ch, calls, held } = fakeChannel({ hold: true });
    const relay = new Relay(ch, null, false, events);
    relay.sink.data(Buffer.from('banner'));
    await tick();
    for (let i = 0; i < 9; i++) relay.sink.data(Buffer.alloc(32 * 1024, 'z'));
    relay.attach(fakeUpstream(calls));
    expect(calls.filter((c) => c.startsWith('upstream'))).toEqual(['upstream.pause']);
    held.shift()?.done();
    expect(calls.filter((c) => c.startsWith('upstream'))).toEqual(['upstream.pause', 'upstream.resume']);
  });

  it('writes held-back output before a notice even while a write is in flight', async () => {
    const { ch, calls, held } = fakeChannel({ hold: true });
    const relay = new Relay(ch, null, true, events);
    relay.sink.data(Buffer.from('one'));
    await tick();
    relay.sink.data(Buffer.from('two'));
    relay.notice('grant revoked', true);
    expect(calls).toEqual(['write:one', 'write:two', 'write:\r\n[gatehouse] grant revoked\r\n']);
    expect(held.length).toBe(2);
  });

  it('drops output once the client has gone', async () => {
    const { ch, calls } = fakeChannel();
    const relay = new Relay(ch, null, false, events);
    relay.sink.data(Buffer.from('lost'));
    (ch as unknown as EventEmitter).emit('close');
    await tick();
    expect(calls).toEqual([]);
  });
});
