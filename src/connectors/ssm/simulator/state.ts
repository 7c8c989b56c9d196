/**
 * The simulator's shared state: the inventory of instances, the sessions with their agents and
 * tokens, the live fault configuration, and the event stream tests listen to.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { SimAgent } from './agent.js';
import type { FakeKms } from './fake-kms.js';
import type { FaultConfig, FaultCounters } from './faults.js';

export interface SimInstanceSpec {
  readonly instanceId: string;
  /** Default Online. */
  readonly pingStatus?: 'Online' | 'ConnectionLost' | 'Inactive';
  /** Default Linux. */
  readonly platformType?: 'Linux' | 'Windows' | 'MacOS';
  /** Default "Amazon Linux". */
  readonly platformName?: string;
  readonly platformVersion?: string;
  readonly agentVersion?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** The login shell run for SSM-SessionManagerRunShell. Default /bin/bash --norc --noprofile. */
  readonly shell?: readonly string[];
  /** Extra environment for the shell or command (PS1 defaults to "$ "). */
  readonly env?: Readonly<Record<string, string>>;
  /** The working directory of the shell or command. Default the system's temp directory. */
  readonly cwd?: string;
}

/** A mutable inventory record: tests flip pingStatus or tags mid-run. */
export interface SimInstance {
  instanceId: string;
  pingStatus: string;
  platformType: string;
  platformName: string;
  platformVersion: string;
  agentVersion: string;
  tags: Record<string, string>;
  shell: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string | null;
}

export function toInstance(spec: SimInstanceSpec): SimInstance {
  return {
    instanceId: spec.instanceId,
    pingStatus: spec.pingStatus ?? 'Online',
    platformType: spec.platformType ?? 'Linux',
    platformName: spec.platformName ?? 'Amazon Linux',
    platformVersion: spec.platformVersion ?? '2023',
    agentVersion: spec.agentVersion ?? '3.3.987.0',
    tags: { ...spec.tags },
    shell: spec.shell ?? ['/bin/bash', '--norc', '--noprofile'],
    env: spec.env ?? {},
    cwd: spec.cwd ?? null,
  };
}

export interface SimSession {
  readonly sessionId: string;
  readonly index: number;
  readonly instanceId: string;
  readonly documentName: string;
  readonly parameters: Readonly<Record<string, readonly string[]>>;
  readonly agent: SimAgent;
  /** Tokens issued by StartSession/ResumeSession and not yet used to open a socket. */
  readonly tokens: Set<string>;
  readonly faults: FaultCounters;
  state: 'active' | 'ended';
  endReason: string | null;
  /** Sockets that completed the open message (1 + resumes). */
  connects: number;
  /** Agent→client stream frames sent, over all sockets (for dropSocketAfterFrames). */
  streamFramesOut: number;
  socketDropDone: boolean;
}

export interface SimContext {
  readonly instances: Map<string, SimInstance>;
  readonly sessions: Map<string, SimSession>;
  readonly faults: FaultConfig;
  readonly events: EventEmitter;
  readonly kms: FakeKms;
  /** ws://127.0.0.1:PORT, known once listening. */
  wsBase: string;
  /** Creates the session and its agent (index.ts wires the agent options). */
  createSession(instance: SimInstance, documentName: string, parameters: Readonly<Record<string, readonly string[]>>): SimSession;
  readonly resumeNewStreamUrl: boolean;
}

export function newToken(): string {
  return 'AAEAA' + randomBytes(48).toString('base64');
}

export function streamUrl(ctx: SimContext, sessionId: string): string {
  const cell = encodeURIComponent(randomBytes(12).toString('base64'));
  return `${ctx.wsBase}/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=${cell}`;
}
