/**
 * An offline AWS Systems Manager Session Manager: the SSM JSON API (StartSession, ResumeSession,
 * TerminateSession, DescribeInstanceInformation) and the data channel (MGS + agent) on one
 * 127.0.0.1 port, with real shells in PTYs and deterministic fault injection. For `gatehouse demo`
 * and the tests; it follows /work/shared/reference/ssm-data-channel.md §12.
 *
 *   const sim = await startSsmSimulator({ instances: [{ instanceId: 'i-0abc', tags: { env: 'demo' } }] });
 *   createSsmConnector({ endpoint: sim.endpoint, credentials: FAKE }) ...
 *   await sim.close();
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimAgent } from './agent.js';
import { createApiHandler } from './api-server.js';
import { FakeKms } from './fake-kms.js';
import { NO_FAULTS, newFaultCounters, type FaultConfig } from './faults.js';
import { attachDataChannelServer } from './mgs.js';
import { toInstance, type SimContext, type SimInstance, type SimInstanceSpec, type SimSession } from './state.js';

export type { FaultConfig, FaultCounters } from './faults.js';
export type { SimInstance, SimInstanceSpec, SimSession } from './state.js';
export { FakeKms } from './fake-kms.js';

export const DEFAULT_SIM_INSTANCE_ID = 'i-0123456789abcdef0';

export interface SsmSimulatorOptions {
  /** The inventory. Default: one Online Linux instance, DEFAULT_SIM_INSTANCE_ID. */
  readonly instances?: readonly SimInstanceSpec[];
  /** Session Manager preferences' KMS key: when set, every session runs the KMS handshake. Default none. */
  readonly kmsKeyId?: string;
  /** The agent's RequireKMSChallengeResponse. Default false. */
  readonly requireKmsChallengeResponse?: boolean;
  /** Initial faults (all off by default); `faults` on the handle is live and mutable. */
  readonly faults?: Partial<FaultConfig>;
  /** 'short' sends channel_closed with the 112-byte header and NUL padding ([M]). Default 'canonical'. */
  readonly channelClosedVariant?: 'canonical' | 'short';
  /** Send a malformed start_publication frame on every socket the agent adopts. Default true. */
  readonly publicationFrames?: boolean;
  /** The agent leaves input un-acked for this long after the process starts (ErrHandlerNotReady). Default 0. */
  readonly handlerReadyDelayMs?: number;
  /** With `kmsKeyId`, the agent sends its HandshakeRequest this long after the socket opens. Default 0. */
  readonly handshakeDelayMs?: number;
  /** Un-acked output frames before the agent stops reading the program (flow control). Default 256. */
  readonly sendWindow?: number;
  /** The agent's resend scheduler interval. Default 100 ms. */
  readonly resendIntervalMs?: number;
  /** ResumeSession returns a fresh StreamUrl (newer plugins use it). Default true. */
  readonly resumeNewStreamUrl?: boolean;
}

export interface SsmSimulator {
  /** http://127.0.0.1:PORT — the SSM API endpoint to give the SDK. */
  readonly endpoint: string;
  /** 'api', 'describe', 'start', 'resume', 'terminate', 'connect', 'session-ended'. */
  readonly events: EventEmitter;
  /** Live inventory by instance id; mutate to take an instance offline or change tags. */
  readonly instances: Map<string, SimInstance>;
  readonly sessions: Map<string, SimSession>;
  /** Live fault configuration, read on every frame. */
  readonly faults: FaultConfig;
  /** The fake KMS the agent decrypts with; hand it to the connector as its DataKeyProvider. */
  readonly kms: FakeKms;
  /** Abruptly drops data-channel sockets (one session's, or all); returns how many. */
  dropConnections(sessionId?: string): number;
  /** Ends every session (killing its process), closes every socket and the port. */
  close(): Promise<void>;
}

export async function startSsmSimulator(options: SsmSimulatorOptions = {}): Promise<SsmSimulator> {
  const instances = new Map<string, SimInstance>();
  for (const spec of options.instances ?? [{ instanceId: DEFAULT_SIM_INSTANCE_ID }]) instances.set(spec.instanceId, toInstance(spec));
  const sessions = new Map<string, SimSession>();
  const events = new EventEmitter();
  const faults: FaultConfig = { ...NO_FAULTS, ...options.faults };
  const kms = new FakeKms(options.kmsKeyId !== undefined ? [options.kmsKeyId] : []);
  let index = 0;

  const ctx: SimContext = {
    instances,
    sessions,
    faults,
    events,
    kms,
    wsBase: '',
    resumeNewStreamUrl: options.resumeNewStreamUrl ?? true,
    createSession(instance, documentName, parameters) {
      const sessionId = `gatehouse-${randomBytes(9).toString('hex')}`;
      const agent = new SimAgent({
        sessionId,
        targetId: instance.instanceId,
        documentName,
        command: parameters['command']?.join(' '),
        shell: instance.shell,
        env: instance.env,
        cwd: instance.cwd,
        kmsKeyId: options.kmsKeyId,
        kms,
        requireChallengeResponse: options.requireKmsChallengeResponse ?? false,
        handlerReadyDelayMs: options.handlerReadyDelayMs ?? 0,
        handshakeDelayMs: options.handshakeDelayMs ?? 0,
        sendWindow: options.sendWindow ?? 256,
        resendIntervalMs: options.resendIntervalMs ?? 100,
        channelClosedVariant: options.channelClosedVariant ?? 'canonical',
        publicationFrames: options.publicationFrames ?? true,
        onEnded: (reason) => {
          session.state = 'ended';
          session.endReason = reason;
          session.tokens.clear();
          events.emit('session-ended', { sessionId, reason });
        },
      });
      const session: SimSession = {
        sessionId, index: index++, instanceId: instance.instanceId, documentName, parameters, agent,
        tokens: new Set(), faults: newFaultCounters(), state: 'active', endReason: null,
        connects: 0, streamFramesOut: 0, socketDropDone: false,
      };
      sessions.set(sessionId, session);
      return session;
    },
  };

  const server = createServer(createApiHandler(ctx));
  const dataChannels = attachDataChannelServer(server, ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  ctx.wsBase = `ws://127.0.0.1:${port}`;

  let closing: Promise<void> | null = null;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events,
    instances,
    sessions,
    faults,
    kms,
    dropConnections: (sessionId) => dataChannels.dropConnections(sessionId),
    close() {
      closing ??= (async () => {
        await Promise.all([...sessions.values()].map((s) => s.agent.terminate('simulator shutting down')));
        await dataChannels.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
