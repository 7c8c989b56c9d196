/**
 * The SSM connector against the SSM simulator: the real SDK over HTTP (AWS JSON 1.1), a real
 * WebSocket data channel, real shells in PTYs. No SSH gateway involved.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSsmConnector, type SsmConnector, type SsmConnectorOptions } from '../../src/connectors/ssm/index.js';
import type { SsmUpstream } from '../../src/connectors/ssm/upstream.js';
import { startSsmSimulator, type SsmSimulator, type SsmSimulatorOptions } from '../../src/connectors/ssm/simulator/index.js';
import { isGatehouseError } from '../../src/domain/errors.js';
import { Cleanup, FAKE_CREDENTIALS, isAlive, openRequest, RecordingSink, ssmTarget, typeBytes } from './ssm-connector-helpers.js';

const LINUX = 'i-0aaaaaaaaaaaaaaa1';
const OFFLINE = 'i-0bbbbbbbbbbbbbbb2';
const WINDOWS = 'i-0ccccccccccccccc3';
const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

let cleanup: Cleanup;

beforeEach(() => {
  cleanup = new Cleanup();
});

afterEach(async () => {
  await cleanup.run();
});

async function simulator(options: SsmSimulatorOptions = {}): Promise<SsmSimulator> {
  const sim = await startSsmSimulator({
    instances: [
      { instanceId: LINUX, tags: { env: 'prod', team: 'sre' }, platformName: 'Amazon Linux' },
      { instanceId: OFFLINE, pingStatus: 'ConnectionLost' },
      { instanceId: WINDOWS, platformType: 'Windows', platformName: 'Microsoft Windows Server 2022' },
    ],
    ...options,
  });
  cleanup.add(() => sim.close());
  return sim;
}

function connector(sim: SsmSimulator, options: SsmConnectorOptions = {}): SsmConnector {
  const c = createSsmConnector({ endpoint: sim.endpoint, credentials: FAKE_CREDENTIALS, ...options });
  cleanup.add(() => c.dispose());
  return c;
}

async function openShell(sim: SsmSimulator, c: SsmConnector, spec: Parameters<typeof ssmTarget>[0] = { instanceId: LINUX }, extras?: Record<string, unknown>) {
  const sink = new RecordingSink();
  const upstream = cleanup.upstream(await c.open(openRequest(ssmTarget(spec, extras)), sink)) as SsmUpstream;
  await sink.waitForText('$ ');
  return { sink, upstream };
}

describe('ssm connector: interactive shell', () => {
  it('runs a command and returns its output', async () => {
    const sim = await simulator();
    const starts: unknown[] = [];
    sim.events.on('start', (e) => starts.push(e));
    const { sink, upstream } = await openShell(sim, connector(sim));
    upstream.write(Buffer.from('echo hello-$((40+2))\r'));
    // "hello-42" appears only if the shell ran the command (the echo of the line has "$((40+2))").
    await sink.waitForText('hello-42\r\n');
    expect(starts).toEqual([expect.objectContaining({ target: LINUX, documentName: 'SSM-SessionManagerRunShell' })]);
  });

  it('sends the terminal size at start and on every resize, and the PTY follows', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim));
    upstream.write(Buffer.from('stty size\r'));
    let at = await sink.waitForText('24 80\r\n');
    upstream.resize(132, 43);
    upstream.write(Buffer.from('stty size\r'));
    at = await sink.waitForText('43 132\r\n', 10_000, at);
    upstream.resize(100, 30);
    upstream.write(Buffer.from('stty size\r'));
    await sink.waitForText('30 100\r\n', 10_000, at);
  });

  it('interrupts a running command with Ctrl-C (signal INT and the raw 0x03 byte)', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim));
    const started = Date.now();
    upstream.write(Buffer.from('sleep 100\r'));
    let at = await sink.waitForText('sleep 100\r\n');
    await new Promise((r) => setTimeout(r, 100));
    upstream.signal('INT');
    at = await sink.waitForText('^C', 5000, at);
    upstream.write(Buffer.from('echo after-$((1+1))\r'));
    at = await sink.waitForText('after-2\r\n', 5000, at);
    upstream.write(Buffer.from('sleep 100\r'));
    at = await sink.waitForText('sleep 100\r\n', 5000, at);
    await new Promise((r) => setTimeout(r, 100));
    upstream.write(Buffer.from([0x03]));
    upstream.write(Buffer.from('echo again-$((2+2))\r'));
    await sink.waitForText('again-4\r\n', 5000, at);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exit → channel_closed → sink.exit then sink.closed, once each', async () => {
    const sim = await simulator();
    const ended: unknown[] = [];
    const terminated: unknown[] = [];
    sim.events.on('session-ended', (e) => ended.push(e));
    sim.events.on('terminate', (e) => terminated.push(e));
    const { sink, upstream } = await openShell(sim, connector(sim));
    upstream.write(Buffer.from('exit\r'));
    const error = await sink.closedPromise;
    expect(error).toBeUndefined();
    expect(sink.exitCalls).toBe(1);
    // Shell sessions carry no exit code on the wire (only NonInteractiveCommands sends ExitCode).
    expect(sink.exitStatus).toEqual({ code: null, signal: null });
    expect(sink.closedCalls).toBe(1);
    expect(ended).toEqual([expect.objectContaining({ reason: 'exited' })]);
    expect(terminated).toEqual([]);
    // close() after the end is a no-op that still resolves.
    await upstream.close('after exit');
    expect(sink.closedCalls).toBe(1);
  });

  it('ends, rather than hangs, when channel_closed comes with output lost behind a gap (the agent gave up on a frame)', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim));
    upstream.write(Buffer.from('echo A-$((1+1))\r'));
    await sink.waitForText('$ ', 10_000, await sink.waitForText('A-2\r\n'));
    const before = sink.text;
    // The agent's next output frame never reaches the client; everything after it waits behind the gap.
    const lost = upstream.channel.reliable.expectedSequenceNumber;
    sim.faults.loseOutputSeq = lost;
    const sent = Date.now();
    upstream.write(Buffer.from('seq 1 5 | sed s/^/G/; exit\r'));
    // The agent waits ≤ 2 s for acks, sends channel_closed and closes the socket: the client then
    // stops waiting for the gap, keeps what was in order, and ends.
    await sink.until(() => sink.closedCalls > 0, 'sink.closed', 8000);
    expect(sink.closedError).toBeUndefined();
    expect(Date.now() - sent).toBeLessThan(6000);
    expect(sink.exitCalls).toBe(1);
    expect(sink.closedCalls).toBe(1);
    expect(sink.text).toBe(before);
    expect(upstream.channel.reliable.expectedSequenceNumber).toBe(lost);
    expect(upstream.channel.reliable.stats.discardedBehindGap).toBeGreaterThan(0);
    expect([...sim.sessions.values()][0]?.faults.dropped).toBeGreaterThan(0);
  });

  it('accepts the short (112-byte header, NUL-padded) channel_closed variant', async () => {
    const sim = await simulator({ channelClosedVariant: 'short' });
    const { sink, upstream } = await openShell(sim, connector(sim));
    upstream.write(Buffer.from('exit\r'));
    expect(await sink.closedPromise).toBeUndefined();
    expect(sink.exitCalls).toBe(1);
  });

  it('close() calls TerminateSession, ends the agent process and closes the sink', async () => {
    const sim = await simulator();
    const terminated: Array<{ sessionId: string }> = [];
    sim.events.on('terminate', (e: { sessionId: string }) => terminated.push(e));
    const { sink, upstream } = await openShell(sim, connector(sim));
    const [session] = [...sim.sessions.values()];
    const pid = session?.agent.processId ?? -1;
    expect(isAlive(pid)).toBe(true);
    await upstream.close('killed by watcher');
    expect(terminated).toEqual([expect.objectContaining({ sessionId: session?.sessionId, known: true })]);
    expect(session?.state).toBe('ended');
    expect(isAlive(pid)).toBe(false);
    expect(sink.closedCalls).toBe(1);
    expect(sink.closedError).toBeUndefined();
    await upstream.close('again');
    expect(terminated).toHaveLength(1);
  });

  for (const resumeNewStreamUrl of [true, false]) {
    it(`resumes after a dropped socket and carries on (${resumeNewStreamUrl ? 'new StreamUrl from ResumeSession' : 'original StreamUrl'})`, async () => {
      const sim = await simulator({ resumeNewStreamUrl });
      const { sink, upstream } = await openShell(sim, connector(sim));
      upstream.write(Buffer.from('echo one-$((0+1))\r'));
      let at = await sink.waitForText('one-1\r\n');
      expect(sim.dropConnections()).toBe(1);
      upstream.write(Buffer.from('echo two-$((1+1))\r'));
      at = await sink.waitForText('two-2\r\n', 10_000, at);
      expect(upstream.channel.stats.resumes).toBe(1);
      expect([...sim.sessions.values()][0]?.connects).toBe(2);
      expect(sink.text.split('two-2\r\n')).toHaveLength(2);
    });
  }

  it('reports a StartSession refusal as GH_ERR_SSM with the AWS error name', async () => {
    const sim = await simulator();
    const err = await connector(sim).open(openRequest(ssmTarget({ instanceId: LINUX, document: 'Custom-Shell' })), new RecordingSink()).catch((e: unknown) => e);
    expect(isGatehouseError(err, 'GH_ERR_SSM')).toBe(true);
    expect((err as { details?: Record<string, unknown> }).details).toMatchObject({ operation: 'StartSession', awsError: 'InvalidDocument', httpStatus: 400 });
  });

  it('ends with an error when ResumeSession reports the session gone', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim));
    const session = [...sim.sessions.values()][0];
    if (session === undefined) throw new Error('no session');
    session.state = 'ended';
    sim.dropConnections(session.sessionId);
    const error = await sink.closedPromise;
    expect(isGatehouseError(error, 'GH_ERR_SSM')).toBe(true);
    expect(error?.message).toMatch(/timed out/);
    expect(upstream.channel.isEnded).toBe(true);
  });

  it('retransmits input the agent was not ready for (ErrHandlerNotReady)', async () => {
    const sim = await simulator({ handlerReadyDelayMs: 300 });
    const { sink, upstream } = await openShell(sim, connector(sim), { instanceId: LINUX });
    upstream.write(Buffer.from('stty size\r'));
    await sink.waitForText('24 80\r\n');
    expect(upstream.channel.reliable.stats.retransmissions).toBeGreaterThan(0);
  });
});

describe('ssm connector: exec', () => {
  it('runs an exec command through AWS-StartInteractiveCommand (no exit code on the wire)', async () => {
    const sim = await simulator();
    const starts: Array<{ documentName: string; parameters: unknown }> = [];
    sim.events.on('start', (e: { documentName: string; parameters: unknown }) => starts.push(e));
    const sink = new RecordingSink();
    const c = connector(sim);
    cleanup.upstream(await c.open(openRequest(ssmTarget({ instanceId: LINUX }), { command: 'echo exec-$((2+3)); exit 3' }), sink));
    await sink.closedPromise;
    expect(sink.text).toContain('exec-5');
    expect(starts).toEqual([{ sessionId: expect.any(String), target: LINUX, documentName: 'AWS-StartInteractiveCommand', parameters: { command: ['echo exec-$((2+3)); exit 3'] }, reason: expect.stringMatching(/^gatehouse session /) }]);
    expect(sink.exitStatus).toEqual({ code: null, signal: null });
    expect(sink.closedError).toBeUndefined();
  });

  it('carries stderr and the exit code with AWS-StartNonInteractiveCommand', async () => {
    const sim = await simulator();
    const sink = new RecordingSink();
    const c = connector(sim);
    const target = ssmTarget({ instanceId: LINUX, document: 'AWS-StartNonInteractiveCommand' });
    cleanup.upstream(await c.open(openRequest(target, { command: 'echo out; echo err >&2; exit 3', pty: null }), sink));
    await sink.closedPromise;
    expect(sink.text).toBe('out\n');
    expect(sink.stderrText).toBe('err\n');
    expect(sink.exitStatus).toEqual({ code: 3, signal: null });
  });

  it('runs the target\'s own AWS-StartInteractiveCommand parameters for an interactive login', async () => {
    const sim = await simulator();
    const sink = new RecordingSink();
    const c = connector(sim);
    const target = ssmTarget({ instanceId: LINUX, document: 'AWS-StartInteractiveCommand' }, { parameters: { command: ['echo fixed-$((3*3))'] } });
    cleanup.upstream(await c.open(openRequest(target), sink));
    await sink.closedPromise;
    expect(sink.text).toContain('fixed-9');
  });
});

describe('ssm connector: inventory check', () => {
  async function refused(sim: SsmSimulator, spec: Parameters<typeof ssmTarget>[0]): Promise<Error> {
    const starts: unknown[] = [];
    sim.events.on('start', (e) => starts.push(e));
    const sink = new RecordingSink();
    const err = await connector(sim).open(openRequest(ssmTarget(spec)), sink).then(
      () => { throw new Error('open should have been refused'); },
      (e: unknown) => e as Error,
    );
    expect(isGatehouseError(err, 'GH_ERR_INVENTORY')).toBe(true);
    expect(starts).toEqual([]);
    expect(sink.closedCalls).toBe(0);
    return err;
  }

  it('refuses an unknown instance', async () => {
    const sim = await simulator();
    expect((await refused(sim, { instanceId: 'i-0ddddddddddddddd4' })).message).toMatch(/i-0ddddddddddddddd4.*unknown instance/);
  });

  it('refuses an instance that is not Online', async () => {
    const sim = await simulator();
    expect((await refused(sim, { instanceId: OFFLINE })).message).toMatch(/is ConnectionLost, not Online/);
  });

  it('refuses the wrong platform', async () => {
    const sim = await simulator();
    const err = await refused(sim, { instanceId: WINDOWS, expect: { platform: 'Linux' } });
    expect(err.message).toMatch(/platform is Windows \(Microsoft Windows Server 2022\), expected Linux/);
  });

  it('refuses mismatched tags and names the tag', async () => {
    const sim = await simulator();
    const err = await refused(sim, { instanceId: LINUX, expect: { tags: { env: 'staging', team: 'sre' } } });
    expect(err.message).toMatch(/tags do not match: env=staging$/);
    expect(err.message).not.toMatch(/team=sre/);
  });

  it('accepts matching platform and tags, and notices a later change', async () => {
    const sim = await simulator();
    const c = connector(sim);
    const spec = { instanceId: LINUX, expect: { platform: 'amazon linux', tags: { env: 'prod', team: 'sre' } } };
    await openShell(sim, c, spec);
    const inst = sim.instances.get(LINUX);
    if (inst === undefined) throw new Error('no instance');
    inst.tags['team'] = 'payments';
    const err = await c.open(openRequest(ssmTarget(spec)), new RecordingSink()).catch((e: unknown) => e as Error);
    expect(isGatehouseError(err, 'GH_ERR_INVENTORY')).toBe(true);
    expect((err as Error).message).toMatch(/team=sre/);
  });
});

describe('ssm connector: KMS encryption', () => {
  it('runs the handshake, encrypts both directions, and binds the key to the session', async () => {
    const sim = await simulator({ kmsKeyId: KMS_KEY });
    const { sink, upstream } = await openShell(sim, connector(sim, { dataKeyProvider: sim.kms }), { instanceId: LINUX, kmsKeyId: KMS_KEY });
    upstream.write(Buffer.from('echo secret-$((6*7))\r'));
    await sink.waitForText('secret-42\r\n');
    const session = [...sim.sessions.values()][0];
    expect(sim.kms.requests).toEqual([{
      keyId: KMS_KEY,
      numberOfBytes: 64,
      region: 'us-east-1',
      encryptionContext: { 'aws:ssm:SessionId': session?.sessionId, 'aws:ssm:TargetId': LINUX },
    }]);
  });

  it('binds the challenge too when asked, as an agent requiring it insists', async () => {
    const sim = await simulator({ kmsKeyId: KMS_KEY, requireKmsChallengeResponse: true });
    const { sink, upstream } = await openShell(sim, connector(sim, { dataKeyProvider: sim.kms, acknowledgeKmsChallenge: true }), { instanceId: LINUX, kmsKeyId: KMS_KEY });
    upstream.write(Buffer.from('echo bound-$((6*7))\r'));
    await sink.waitForText('bound-42\r\n');
    expect(Object.keys(sim.kms.requests[0]?.encryptionContext ?? {})).toContain('aws:ssm:RandomChallenge');
  });

  it('re-sends the terminal size after a handshake that starts only once input has begun (a late HandshakeRequest)', async () => {
    const sim = await simulator({ kmsKeyId: KMS_KEY, handshakeDelayMs: 600 });
    const c = connector(sim, { dataKeyProvider: sim.kms, firstMessageTimeoutMs: 150 });
    const sink = new RecordingSink();
    const pty = { term: 'xterm-256color', cols: 100, rows: 30 };
    // No kmsKeyId on the target: after 150 ms of silence the session starts as a plain stream and
    // sends its size, which the agent, still before its handshake, acks and discards (spec §8.2).
    const upstream = cleanup.upstream(await c.open(openRequest(ssmTarget({ instanceId: LINUX }), { pty }), sink)) as SsmUpstream;
    const [session] = [...sim.sessions.values()];
    expect(upstream.channel.reliable.nextSequenceNumber).toBe(1);
    expect(session?.agent.reliable.nextSequenceNumber).toBe(0);
    await sink.waitForText('$ ');
    upstream.write(Buffer.from('stty size\r'));
    await sink.waitForText(/\r(\d+ \d+)\r\n/, 5000);
    expect(/\r(\d+ \d+)\r\n/.exec(sink.text)?.[1]).toBe('30 100');
    expect(sim.kms.requests).toHaveLength(1);
  });

  it('refuses the session when no data key provider is configured, and terminates it', async () => {
    const sim = await simulator({ kmsKeyId: KMS_KEY });
    const terminated: unknown[] = [];
    sim.events.on('terminate', (e) => terminated.push(e));
    const sink = new RecordingSink();
    const err = await connector(sim).open(openRequest(ssmTarget({ instanceId: LINUX })), sink).catch((e: unknown) => e as Error);
    expect(isGatehouseError(err, 'GH_ERR_SSM')).toBe(true);
    expect((err as Error).message).toMatch(/no data key provider/);
    expect(terminated).toHaveLength(1);
    expect(sink.closedCalls).toBe(0);
  });

  it('refuses an unencrypted session on a target that expects KMS', async () => {
    const sim = await simulator();
    const err = await connector(sim, { dataKeyProvider: sim.kms }).open(openRequest(ssmTarget({ instanceId: LINUX, kmsKeyId: KMS_KEY })), new RecordingSink()).catch((e: unknown) => e as Error);
    expect(isGatehouseError(err, 'GH_ERR_SSM')).toBe(true);
    expect((err as Error).message).toMatch(/unencrypted/);
  });
});

describe('ssm connector: backpressure', () => {
  it('pause() stops delivery and the agent stops reading; resume() delivers everything', async () => {
    const sim = await simulator({ sendWindow: 32 });
    const { sink, upstream } = await openShell(sim, connector(sim, { pauseBufferBytes: 16 * 1024 }));
    upstream.pause();
    const before = sink.bytes;
    upstream.write(Buffer.from('seq 1 30000 | sed s/^/N/; echo END-$((1+1))\r'));
    await new Promise((r) => setTimeout(r, 700));
    expect(sink.bytes).toBe(before);
    const agent = [...sim.sessions.values()][0]?.agent;
    // 16 KiB were acked and queued; past that the head is held un-acked, the agent's send window
    // (counted from its oldest un-acked frame) fills, and it stops reading the PTY.
    expect((agent?.reliable.nextSequenceNumber ?? 0) - (agent?.reliable.oldestUnacked ?? 0)).toBeGreaterThanOrEqual(32);
    expect(upstream.channel.reliable.expectedSequenceNumber).toBeGreaterThan(10);
    upstream.resume();
    await sink.waitForText('END-2\r\n', 20_000);
    const numbers = [...sink.text.matchAll(/^N(\d+)\r$/gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: 30000 }, (_, i) => i + 1));
  });

  it('output queued while paused reaches the sink before exit and closed', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim));
    const order: string[] = [];
    const { data, exit, closed } = { data: sink.data.bind(sink), exit: sink.exit.bind(sink), closed: sink.closed.bind(sink) };
    sink.data = (c) => { order.push('data'); data(c); };
    sink.exit = (e) => { order.push('exit'); exit(e); };
    sink.closed = (e) => { order.push('closed'); closed(e); };
    upstream.pause();
    upstream.write(Buffer.from('seq 1 500 | sed s/^/Q/; exit\r'));
    // channel_closed has reached the client while its output is still queued.
    await sink.until(() => upstream.channel.isEnded, 'channel_closed');
    expect(order).toEqual([]);
    upstream.resume();
    await sink.closedPromise;
    expect([...sink.text.matchAll(/^Q(\d+)\r$/gm)].map((m) => Number(m[1]))).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(order.slice(-2)).toEqual(['exit', 'closed']);
    expect(order.filter((o) => o !== 'data')).toEqual(['exit', 'closed']);
  });

  it('write() returns false over the high-water mark and drain() follows', async () => {
    const sim = await simulator();
    const { sink, upstream } = await openShell(sim, connector(sim, { highWaterBytes: 4096 }));
    upstream.write(Buffer.from('cat > /dev/null\r'));
    await sink.waitForText('cat > /dev/null\r\n');
    // Lines, not one 16 KiB line: a canonical-mode PTY holds at most 4 KiB per line.
    const ok = upstream.write(Buffer.from(`${'a'.repeat(63)}\r`.repeat(256)));
    expect(ok).toBe(false);
    await sink.until(() => sink.drains === 1, 'drain');
    expect(upstream.channel.reliable.unackedBytes).toBeLessThanOrEqual(2048);
    // Let cat consume it all before cleanup kills the shell.
    upstream.write(Buffer.from([0x04]));
    upstream.write(Buffer.from('echo W-$((5+5))\r'));
    await sink.waitForText('W-10\r\n');
  });
});

describe('ssm connector: under injected faults', () => {
  it('loses, doubles and reorders nothing through loss, duplication, reordering, bad digests and socket drops mid-output and mid-typing', { timeout: 60_000 }, async () => {
    const sim = await simulator({
      faults: { dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05, badDigestRate: 0.02, dropSocketAfterFrames: 25, seed: 42 },
    });
    const dir = await mkdtemp(join(tmpdir(), 'gh-ssm-'));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    const resumes: unknown[] = [];
    sim.events.on('resume', (e) => resumes.push(e));
    const { sink, upstream } = await openShell(sim, connector(sim));

    // 2000 numbered lines of output.
    upstream.write(Buffer.from('seq 1 2000 | sed s/^/L/; echo LINES-DONE-$((1+1))\r'));
    let at = await sink.waitForText('LINES-DONE-2\r\n', 20_000);
    const lines = [...sink.text.matchAll(/^L(\d+)\r$/gm)].map((m) => Number(m[1]));
    expect(lines).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));

    // 500 keystrokes, one frame each, into a file, typed a few at a time; halfway through, the
    // socket is dropped right after a burst, while those keystrokes are still un-acked in flight.
    const file = join(dir, 'keys.txt');
    upstream.write(Buffer.from(`cat > ${file}\r`));
    at = await sink.waitForText(`cat > ${file}\r\n`, 10_000, at);
    const echoFrom = at;
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let typed = '';
    for (let i = 0; i < 500; i++) typed += (i + 1) % 50 === 0 ? '\r' : alphabet[(i * 7) % alphabet.length];
    const keys = Buffer.from(typed);
    const replayedBefore = upstream.channel.reliable.stats.replayed;
    let unackedAtDrop = -1;
    for (let i = 0; i < keys.length; i += 5) {
      await typeBytes(upstream, sink, keys.subarray(i, i + 5));
      if (i === 250) {
        unackedAtDrop = upstream.channel.reliable.unackedCount;
        expect(sim.dropConnections()).toBe(1);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    upstream.write(Buffer.from([0x04]));
    upstream.write(Buffer.from('echo KEYS-DONE-$((2+2))\r'));
    await sink.waitForText('KEYS-DONE-4\r\n', 20_000, at);
    expect(unackedAtDrop).toBeGreaterThan(0);
    // Keystrokes sent on the dropped socket went again on the resumed one, and each arrived once.
    expect(upstream.channel.reliable.stats.replayed).toBeGreaterThan(replayedBefore);
    expect(await readFile(file, 'utf8')).toBe(typed.replaceAll('\r', '\n'));
    // Their echo (output across the drop) is complete and in order.
    const echo = typed.replaceAll('\r', '\r\n');
    // (bash switches bracketed paste off before running cat)
    expect(sink.text.slice(echoFrom).replace(/^\x1b\[\?2004l\r/, '').slice(0, echo.length)).toBe(echo);

    // The faults did happen, and were survived rather than avoided.
    const session = [...sim.sessions.values()][0];
    const faults = session?.faults;
    expect(faults?.socketDrops).toBe(1); // the relay's drop mid-output; the one mid-typing is dropConnections()
    expect(session?.connects).toBe(3);
    expect(resumes).toHaveLength(2);
    expect(upstream.channel.stats.resumes).toBe(2);
    expect(faults?.dropped).toBeGreaterThan(10);
    expect(faults?.duplicated).toBeGreaterThan(10);
    expect(faults?.reordered).toBeGreaterThan(10);
    expect(faults?.corrupted).toBeGreaterThan(0);
    // Every corrupted frame that reached the client was rejected (one in flight on the dropped socket may not have).
    expect(upstream.channel.stats.badDigests).toBeGreaterThan(0);
    expect(upstream.channel.stats.badDigests).toBeLessThanOrEqual(faults?.corrupted ?? 0);
    expect(upstream.channel.stats.badDigests).toBeGreaterThanOrEqual((faults?.corrupted ?? 0) - 2);
    const client = upstream.channel.reliable.stats;
    const agent = session?.agent.reliable.stats;
    expect(client.retransmissions).toBeGreaterThan(0);
    expect(client.duplicatesReceived).toBeGreaterThan(0);
    expect(client.outOfOrder).toBeGreaterThan(0);
    expect(agent?.retransmissions).toBeGreaterThan(0);
    expect(agent?.duplicatesReceived).toBeGreaterThan(0);
  });
});

describe('ssm simulator: API and data-channel conformance', () => {
  async function call(sim: SsmSimulator, operation: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(sim.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AmazonSSM.${operation}`, Authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('answers with AWS-shaped JSON errors', async () => {
    const sim = await simulator();
    expect(await call(sim, 'StartSession', { Target: 'i-0nope' })).toEqual({ status: 400, json: { __type: 'InvalidInstanceId', message: 'i-0nope is not a valid instance id' } });
    expect(await call(sim, 'StartSession', { Target: OFFLINE })).toMatchObject({ status: 400, json: { __type: 'TargetNotConnected' } });
    expect(await call(sim, 'StartSession', {})).toMatchObject({ status: 400, json: { __type: 'ValidationException' } });
    expect(await call(sim, 'StartSession', { Target: LINUX, DocumentName: 'AWS-StartInteractiveCommand' })).toMatchObject({ status: 400, json: { __type: 'InvalidParameters' } });
    expect(await call(sim, 'StartSession', { Target: LINUX, DocumentName: 'AWS-RunShellScript' })).toMatchObject({ status: 400, json: { __type: 'InvalidDocument' } });
    expect(await call(sim, 'StartSession', '{not json')).toMatchObject({ status: 400, json: { __type: 'SerializationException' } });
    expect(await call(sim, 'ResumeSession', { SessionId: 'nope' })).toMatchObject({ status: 400, json: { __type: 'DoesNotExistException' } });
    expect(await call(sim, 'DescribeInstanceInformation', { Filters: [{ Key: 'Bogus', Values: ['x'] }] })).toMatchObject({ status: 400, json: { __type: 'InvalidFilterKey' } });
    expect(await call(sim, 'DescribeInstanceInformation', { InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: ['i-0nope'] }] })).toMatchObject({ status: 400, json: { __type: 'InvalidInstanceId' } });
    expect(await call(sim, 'SendCommand', {})).toMatchObject({ status: 400, json: { __type: 'UnknownOperationException' } });
  });

  it('filters DescribeInstanceInformation by id and tag:<key>', async () => {
    const sim = await simulator();
    const ids = async (filters: unknown) => ((await call(sim, 'DescribeInstanceInformation', { Filters: filters })).json['InstanceInformationList'] as Array<{ InstanceId: string }>).map((i) => i.InstanceId);
    expect(await ids([{ Key: 'tag:env', Values: ['prod'] }])).toEqual([LINUX]);
    expect(await ids([{ Key: 'InstanceIds', Values: [LINUX] }, { Key: 'tag:env', Values: ['dev'] }])).toEqual([]);
    expect(await ids([{ Key: 'PingStatus', Values: ['Online'] }, { Key: 'PlatformTypes', Values: ['Linux'] }])).toEqual([LINUX]);
    expect(await ids([{ Key: 'InstanceIds', Values: ['i-0nope'] }])).toEqual([]);
  });

  it('requires the open message with a fresh token before any frame, one socket per token', async () => {
    const sim = await simulator();
    const started = await call(sim, 'StartSession', { Target: LINUX });
    const url = String(started.json['StreamUrl']);
    const closeOf = (first: string | Buffer) => new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      cleanup.add(() => ws.terminate());
      ws.on('open', () => ws.send(first));
      ws.on('close', (code) => resolve(code));
      ws.on('error', reject);
    });
    expect(await closeOf('{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"forged"}')).toBe(1008);
    expect(await closeOf(Buffer.from([1, 2, 3]))).toBe(1008);
    const token = String(started.json['TokenValue']);
    const firstFrame = await new Promise<Buffer>((resolve, reject) => {
      const ws = new WebSocket(url);
      cleanup.add(() => ws.terminate());
      ws.on('open', () => ws.send(JSON.stringify({ MessageSchemaVersion: '1.0', RequestId: 'r1', TokenValue: token })));
      ws.on('message', (d: Buffer) => resolve(d));
      ws.on('error', reject);
    });
    // start_publication (deliberately malformed), then output seq 0 with SYN.
    expect(firstFrame.subarray(4, 21).toString()).toBe('start_publication');
    expect(await closeOf(JSON.stringify({ MessageSchemaVersion: '1.0', RequestId: 'r2', TokenValue: token }))).toBe(1008);
  });

  it('an open aborted by the session terminates the SSM session and rejects', async () => {
    const sim = await simulator({ kmsKeyId: KMS_KEY });
    const terminated: unknown[] = [];
    sim.events.on('terminate', (e) => terminated.push(e));
    const slowKms = { generateDataKey: () => new Promise<never>(() => {}) };
    const abort = new AbortController();
    const sink = new RecordingSink();
    const opening = connector(sim, { dataKeyProvider: slowKms }).open(openRequest(ssmTarget({ instanceId: LINUX, kmsKeyId: KMS_KEY }), { signal: abort.signal }), sink);
    await new Promise<void>((resolve) => sim.events.once('connect', () => resolve()));
    abort.abort();
    const err = await opening.catch((e: unknown) => e as Error);
    expect(isGatehouseError(err, 'GH_ERR_UPSTREAM_CONNECT') || isGatehouseError(err, 'GH_ERR_SSM')).toBe(true);
    expect(terminated).toHaveLength(1);
    expect(sink.closedCalls).toBe(0);
  });
});
