/**
 * The SSM Session Manager connector: inventory check → StartSession → data channel → Upstream.
 * No session-manager-plugin binary; the protocol is implemented natively (data-channel.ts and
 * friends), following /work/shared/reference/ssm-data-channel.md.
 */
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Connector, OpenRequest, Upstream, UpstreamSink } from '../types.js';
import { GatehouseError, asGatehouseError } from '../../domain/errors.js';
import type { SsmTargetSpec } from '../../domain/types.js';
import { createSsmApi, defaultSsmClientFactory, terminateWithin, type SsmApi, type SsmClientFactory, type SsmCredentials } from './api.js';
import { systemTimers } from './clock.js';
import type { RetryPolicy } from './data-channel.js';
import { checkInventory } from './inventory.js';
import type { DataKeyProvider } from './kms.js';
import { SsmUpstream } from './upstream.js';

export const DEFAULT_SHELL_DOCUMENT = 'SSM-SessionManagerRunShell';
export const INTERACTIVE_COMMAND_DOCUMENT = 'AWS-StartInteractiveCommand';
export const NON_INTERACTIVE_COMMAND_DOCUMENT = 'AWS-StartNonInteractiveCommand';
const COMMAND_DOCUMENTS: readonly string[] = [INTERACTIVE_COMMAND_DOCUMENT, NON_INTERACTIVE_COMMAND_DOCUMENT];

/**
 * Optional fields this connector reads beyond the domain's SsmTargetSpec (to be added there):
 * `parameters` — document parameters for a target whose `document` needs them, e.g.
 * `{document: 'AWS-StartInteractiveCommand', parameters: {command: ['sudo -iu app']}}`.
 */
export interface SsmTargetExtras {
  readonly parameters?: Readonly<Record<string, readonly string[]>>;
}

export interface SsmConnectorOptions {
  /** Parent logger; each session gets a child with its ids. Default: silent. */
  readonly logger?: Logger;
  /** SSM API endpoint for every target without its own `endpoint` (simulator, VPC endpoint). Default: the SDK's regional endpoint. */
  readonly endpoint?: string;
  /** AWS credentials or provider. Default: the SDK's default credential chain. */
  readonly credentials?: SsmCredentials;
  /** Builds the SDK client per region/endpoint. Default: `new SSMClient(...)`. */
  readonly clientFactory?: SsmClientFactory;
  /** Where KMS data keys come from when a session asks for encryption. Default: none (such sessions are refused). */
  readonly dataKeyProvider?: DataKeyProvider;
  /** Bind the data key to the agent's challenge (aws:ssm:RandomChallenge). Default false, as [P]. */
  readonly acknowledgeKmsChallenge?: boolean;
  /** Data-channel resend scheduler interval. Default 100 ms (the spec's ResendSleepInterval). */
  readonly resendIntervalMs?: number;
  /** Reconnect/ResumeSession back-off. Default the plugin's: 100+rand(100) ms, x2, ≤5 s, 5 retries. */
  readonly retry?: RetryPolicy;
  /** write() backpressure threshold in un-acked input bytes. Default 256 KiB. */
  readonly highWaterBytes?: number;
  /** Wait this long for the agent's first message before assuming a plain stream. Default 1000 ms. */
  readonly firstMessageTimeoutMs?: number;
  /** Output acked and held while the session has paused the upstream. Default 256 KiB. */
  readonly pauseBufferBytes?: number;
}

export interface SsmConnector extends Connector {
  /** Releases the cached SDK clients (their keep-alive sockets). */
  dispose(): void;
}

interface Plan {
  readonly documentName: string;
  readonly parameters: Readonly<Record<string, readonly string[]>> | undefined;
}

/** Which document runs, with which parameters: exec → a command document; otherwise the target's. */
export function planDocument(spec: SsmTargetSpec & SsmTargetExtras, command: string | undefined): Plan {
  if (command !== undefined) {
    const doc = spec.document !== undefined && COMMAND_DOCUMENTS.includes(spec.document) ? spec.document : INTERACTIVE_COMMAND_DOCUMENT;
    return { documentName: doc, parameters: { ...spec.parameters, command: [command] } };
  }
  const documentName = spec.document ?? DEFAULT_SHELL_DOCUMENT;
  if (COMMAND_DOCUMENTS.includes(documentName) && spec.parameters?.['command'] === undefined) {
    throw new GatehouseError('GH_ERR_SSM', `SSM document ${documentName} needs a command: set the target's parameters.command or connect with an exec command`);
  }
  return { documentName, parameters: spec.parameters };
}

export function createSsmConnector(options: SsmConnectorOptions = {}): SsmConnector {
  const logger = options.logger ?? pino({ level: 'silent' });
  const clientFactory = options.clientFactory ?? defaultSsmClientFactory;
  const clientId = randomUUID();
  const clients = new Map<string, { api: SsmApi; destroy(): void }>();

  function apiFor(spec: SsmTargetSpec): SsmApi {
    const endpoint = spec.endpoint ?? options.endpoint;
    const key = `${spec.region}|${endpoint ?? ''}`;
    let entry = clients.get(key);
    if (entry === undefined) {
      const client = clientFactory({ region: spec.region, endpoint, credentials: options.credentials });
      entry = { api: createSsmApi(client), destroy: () => client.destroy() };
      clients.set(key, entry);
    }
    return entry.api;
  }

  async function open(request: OpenRequest, sink: UpstreamSink): Promise<Upstream> {
    const spec = request.target.ssm as (SsmTargetSpec & SsmTargetExtras) | undefined;
    if (request.target.kind !== 'ssm' || spec === undefined) {
      throw new GatehouseError('GH_ERR_SSM', `target ${request.target.name} is not an SSM target`);
    }
    const log = logger.child({ sessionId: request.sessionId, target: request.target.name, instanceId: spec.instanceId });
    const aborted = (): GatehouseError => new GatehouseError('GH_ERR_UPSTREAM_CONNECT', 'session ended while connecting to SSM');
    if (request.signal.aborted) throw aborted();
    const api = apiFor(spec);
    const plan = planDocument(spec, request.command);

    let started;
    try {
      await checkInventory(api, spec, request.signal);
      if (request.signal.aborted) throw aborted();
      started = await api.startSession(
        { target: spec.instanceId, documentName: plan.documentName, parameters: plan.parameters, reason: `gatehouse session ${request.sessionId}` },
        request.signal,
      );
    } catch (err) {
      // An abort surfaces from the SDK as its own error; report it as the abort it is.
      throw request.signal.aborted ? aborted() : err;
    }
    const sessionLog = log.child({ ssmSessionId: started.sessionId });
    if (request.signal.aborted) {
      await terminateWithin(api, started.sessionId, 5000, systemTimers, sessionLog);
      throw aborted();
    }
    sessionLog.info({ document: plan.documentName }, 'ssm session started');

    const upstream = new SsmUpstream({
      ssmSessionId: started.sessionId,
      targetId: spec.instanceId,
      region: spec.region,
      api,
      sink,
      logger: sessionLog,
      pty: request.pty,
      expectKms: spec.kmsKeyId !== undefined,
      dataKeyProvider: options.dataKeyProvider,
      acknowledgeKmsChallenge: options.acknowledgeKmsChallenge ?? false,
      ...(options.firstMessageTimeoutMs !== undefined ? { firstMessageTimeoutMs: options.firstMessageTimeoutMs } : {}),
      ...(options.highWaterBytes !== undefined ? { highWaterBytes: options.highWaterBytes } : {}),
      ...(options.pauseBufferBytes !== undefined ? { pauseBufferBytes: options.pauseBufferBytes } : {}),
      channel: {
        streamUrl: started.streamUrl,
        tokenValue: started.tokenValue,
        clientId,
        ...(options.resendIntervalMs !== undefined ? { resendIntervalMs: options.resendIntervalMs } : {}),
        ...(options.retry !== undefined ? { retry: options.retry } : {}),
      },
    });
    const onAbort = (): void => void upstream.abandon('aborted while connecting');
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await upstream.connect();
      if (request.signal.aborted) throw aborted();
      // Held output flows once the caller's continuation has taken the Upstream.
      setImmediate(() => upstream.openGate());
      return upstream;
    } catch (err) {
      // Whatever went wrong, end the session on AWS's side too.
      await upstream.abandon('connect failed');
      throw asGatehouseError(err, 'GH_ERR_UPSTREAM_CONNECT');
    } finally {
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    kind: 'ssm',
    open,
    dispose() {
      for (const entry of clients.values()) entry.destroy();
      clients.clear();
    },
  };
}
