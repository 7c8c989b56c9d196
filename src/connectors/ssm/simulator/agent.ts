/**
 * The simulated SSM agent for one session ([A] datachannel.go, shell.go, sessionplugin.go): it
 * runs the shell or command, streams its output as output_stream_data (SYN on seq 0, ≤ 1024 bytes
 * a frame, never splitting a UTF-8 character), takes keystrokes and Size messages, acks and
 * retransmits by the same rules as the client (it shares ReliableChannel), runs the handshake when
 * KMS is on, and ends with channel_closed. Its session outlives any one socket: after a drop it
 * buffers, and a resumed socket picks up where the last one stopped.
 */
import { tmpdir } from 'node:os';
import { MessageType, PayloadType, type AgentMessage } from '../codec.js';
import type { BlockCipher } from '../kms.js';
import { encodeExitCodePayload, FlagValue, parseFlagPayload, parseSizePayload } from '../messages.js';
import { ReliableChannel } from '../reliable.js';
import { encodeChannelClosedFrame, encodeMalformedStartPublication } from './agent-frames.js';
import { AgentHandshake } from './agent-handshake.js';
import { spawnPipes, spawnPty, type AgentProcess, type ProcessEvents } from './agent-process.js';
import type { FakeKms } from './fake-kms.js';
import { completeUtf8Length } from './utf8.js';

export { completeUtf8Length } from './utf8.js';

export const DOCUMENT_SESSION_TYPES: Readonly<Record<string, string>> = {
  'SSM-SessionManagerRunShell': 'Standard_Stream',
  'AWS-StartInteractiveCommand': 'InteractiveCommands',
  'AWS-StartNonInteractiveCommand': 'NonInteractiveCommands',
};

/** Where the agent's frames go: the MGS relay for the currently attached socket. */
export interface AgentLink {
  /** `faultable`: stream data and acks (the relay may drop, delay or corrupt them). */
  send(frame: Buffer, faultable: boolean): void;
  /** Gracefully closes the socket after what was sent. */
  close(): void;
}

export interface SimAgentConfig {
  readonly sessionId: string;
  readonly targetId: string;
  readonly documentName: string;
  readonly command: string | undefined;
  readonly shell: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Where the shell or command runs; default the system temp directory. */
  readonly cwd?: string | null;
  readonly kmsKeyId: string | undefined;
  readonly kms: FakeKms;
  readonly requireChallengeResponse: boolean;
  readonly handlerReadyDelayMs: number;
  /** With KMS on, the HandshakeRequest goes out this long after the first socket opens (a slow agent). */
  readonly handshakeDelayMs: number;
  /** Un-acked output frames (from the oldest) before the agent stops reading the program. */
  readonly sendWindow: number;
  readonly resendIntervalMs: number;
  readonly channelClosedVariant: 'canonical' | 'short';
  readonly publicationFrames: boolean;
  readonly onEnded: (reason: string) => void;
}

const MAX_OUTPUT_FRAME = 1024;
const CLOSE_FLUSH_MS = 2000;
const START_COLS = 80;
const START_ROWS = 24;

export class SimAgent {
  readonly reliable: ReliableChannel;
  private readonly c: SimAgentConfig;
  private readonly handshake: AgentHandshake;
  private link: AgentLink | null = null;
  private proc: AgentProcess | null = null;
  private cipher: BlockCipher | null = null;
  private phase: 'new' | 'handshake' | 'running' | 'closing' | 'ended' = 'new';
  private handlerReady = false;
  private carry: Buffer | null = null;
  private readingPaused = false;

  constructor(config: SimAgentConfig) {
    this.c = config;
    this.handshake = new AgentHandshake({
      sessionId: config.sessionId,
      targetId: config.targetId,
      sessionType: DOCUMENT_SESSION_TYPES[config.documentName] ?? 'Standard_Stream',
      kmsKeyId: config.kmsKeyId,
      kms: config.kms,
      requireChallengeResponse: config.requireChallengeResponse,
    });
    this.reliable = new ReliableChannel({
      outgoingType: MessageType.OutputStreamData,
      synOnFirst: true,
      resendIntervalMs: config.resendIntervalMs,
      incomingCapacity: 100_000,
      outgoingCapacity: 100_000,
      transmit: (frame) => this.link?.send(frame, true),
      deliver: (m) => this.deliver(m),
      onAcked: () => this.onAcked(),
    });
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  get processId(): number | null {
    return this.proc?.pid ?? null;
  }

  /** A socket completed the open handshake with a valid token. */
  attach(link: AgentLink): void {
    // While closing, a resumed socket is still welcome: it carries the last output home.
    if (this.phase === 'ended') {
      link.close();
      return;
    }
    const previous = this.link;
    this.link = link;
    if (previous !== null) previous.close();
    if (this.c.publicationFrames) link.send(encodeMalformedStartPublication(), false);
    this.reliable.linkUp();
    if (this.phase !== 'new') return;
    if (this.handshake.encrypted) {
      // Until HandshakeComplete, input is acked and discarded (deliverHandshake), delayed or not.
      this.phase = 'handshake';
      const request = (): void => {
        if (this.phase === 'handshake') this.reliable.send(PayloadType.HandshakeRequest, this.handshake.requestPayload());
      };
      if (this.c.handshakeDelayMs > 0) setTimeout(request, this.c.handshakeDelayMs).unref();
      else request();
    } else {
      this.startProcess();
    }
  }

  detach(link: AgentLink): void {
    if (this.link !== link) return;
    this.link = null;
    this.reliable.linkDown();
  }

  /** A frame from the client (acks and input_stream_data). The agent never checks digests. */
  receive(message: AgentMessage): void {
    if (this.phase !== 'ended') this.reliable.receive(message);
  }

  /** TerminateSession (or the simulator closing): channel_closed to the client, process killed. */
  async terminate(output: string): Promise<void> {
    if (this.phase === 'ended') return;
    this.sendChannelClosed(output);
    await this.end('terminated');
  }

  private deliver(m: AgentMessage): boolean {
    if (this.phase === 'handshake') return this.deliverHandshake(m);
    if (this.phase !== 'running' && this.phase !== 'closing') return true;
    // ErrHandlerNotReady: neither acked nor consumed; the client's retransmission brings it back.
    if (!this.handlerReady) return false;
    const proc = this.proc;
    if (proc === null) return true;
    try {
      if (m.payloadType === PayloadType.Output) {
        proc.write(this.cipher !== null ? this.cipher.decrypt(m.payload) : m.payload);
      } else if (m.payloadType === PayloadType.Size) {
        const size = parseSizePayload(m.payload);
        proc.resize(size.cols, size.rows);
      } else if (m.payloadType === PayloadType.Flag && parseFlagPayload(m.payload) === FlagValue.TerminateSession) {
        void this.terminate('');
      }
    } catch {
      // [A] logs and drops input it cannot use.
    }
    return true;
  }

  private deliverHandshake(m: AgentMessage): boolean {
    try {
      if (m.payloadType === PayloadType.HandshakeResponse) {
        const challenge = this.handshake.onResponse(m.payload);
        if (challenge !== null) this.reliable.send(PayloadType.EncChallengeRequest, challenge);
        else this.completeHandshake();
      } else if (m.payloadType === PayloadType.EncChallengeResponse) {
        this.handshake.onChallengeResponse(m.payload);
        this.completeHandshake();
      }
      // Anything else: "Handshake still in progress, ignore stream data message" — acked, dropped.
    } catch (err) {
      this.sendChannelClosed(`Handshake failed: ${(err as Error).message}`);
      void this.end('handshake failed');
    }
    return true;
  }

  private completeHandshake(): void {
    this.cipher = this.handshake.cipher;
    this.reliable.send(PayloadType.HandshakeComplete, this.handshake.completePayload());
    this.startProcess();
  }

  private startProcess(): void {
    this.phase = 'running';
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8', TERM: 'xterm-256color', PS1: '$ ', ...this.c.env };
    const events: ProcessEvents = {
      stdout: (d) => this.onOutput(PayloadType.Output, d),
      stderr: (d) => this.onOutput(PayloadType.StdErr, d),
      exit: (code) => void this.onExit(code),
    };
    const sessionType = DOCUMENT_SESSION_TYPES[this.c.documentName];
    const command = this.c.command ?? '';
    const cwd = this.c.cwd ?? tmpdir();
    if (sessionType === 'NonInteractiveCommands') this.proc = spawnPipes(['/bin/sh', '-c', command], env, cwd, events);
    else if (sessionType === 'InteractiveCommands') this.proc = spawnPty(['/bin/sh', '-c', command], env, cwd, START_COLS, START_ROWS, events);
    else this.proc = spawnPty(this.c.shell, env, cwd, START_COLS, START_ROWS, events);
    if (this.c.handlerReadyDelayMs <= 0) this.handlerReady = true;
    else setTimeout(() => { this.handlerReady = true; }, this.c.handlerReadyDelayMs).unref();
  }

  private onOutput(payloadType: number, data: Buffer): void {
    if (this.phase === 'ended') return;
    let buf = data;
    if (payloadType === PayloadType.Output) {
      if (this.carry !== null) {
        buf = Buffer.concat([this.carry, data]);
        this.carry = null;
      }
      const complete = completeUtf8Length(buf);
      if (complete < buf.length) {
        this.carry = Buffer.from(buf.subarray(complete));
        buf = buf.subarray(0, complete);
      }
    }
    this.sendChunks(payloadType, buf);
    if (!this.readingPaused && this.reliable.nextSequenceNumber - this.reliable.oldestUnacked >= this.c.sendWindow) {
      this.readingPaused = true;
      this.proc?.pause();
    }
  }

  private sendChunks(payloadType: number, buf: Buffer): void {
    let at = 0;
    while (at < buf.length) {
      let end = Math.min(buf.length, at + MAX_OUTPUT_FRAME);
      // Never split a character: back off to the nearest lead byte.
      if (end < buf.length) while (end > at + 1 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
      const piece = buf.subarray(at, end);
      this.reliable.send(payloadType, this.cipher !== null ? this.cipher.encrypt(piece) : piece);
      at = end;
    }
  }

  private onAcked(): void {
    if (this.readingPaused && this.reliable.nextSequenceNumber - this.reliable.oldestUnacked < this.c.sendWindow / 2) {
      this.readingPaused = false;
      this.proc?.resume();
    }
  }

  /** [A] executeCommandsWithPty on exit: flush, wait ≤ 2 s for acks, then the channel closes. */
  private async onExit(code: number | null): Promise<void> {
    if (this.phase === 'ended' || this.phase === 'closing') return;
    this.phase = 'closing';
    if (this.carry !== null) {
      const rest = this.carry;
      this.carry = null;
      this.sendChunks(PayloadType.Output, rest);
    }
    if (DOCUMENT_SESSION_TYPES[this.c.documentName] === 'NonInteractiveCommands') {
      const payload = encodeExitCodePayload(code ?? -1);
      this.reliable.send(PayloadType.ExitCode, this.cipher !== null ? this.cipher.encrypt(payload) : payload);
    }
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    while (this.reliable.unackedCount > 0 && Date.now() < deadline && this.phase === 'closing') {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.phase !== 'closing') return;
    this.sendChannelClosed('');
    await this.end('exited');
  }

  private sendChannelClosed(output: string): void {
    const link = this.link;
    if (link === null) return;
    const frame = encodeChannelClosedFrame({ sessionId: this.c.sessionId, targetId: this.c.targetId, output, variant: this.c.channelClosedVariant });
    link.send(frame, false);
    link.close();
  }

  private async end(reason: string): Promise<void> {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.reliable.dispose();
    this.link = null;
    const proc = this.proc;
    this.proc = null;
    if (proc !== null) await proc.kill();
    this.c.onEnded(reason);
  }
}
