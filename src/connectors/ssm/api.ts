/**
 * The SSM control plane (spec §2), the only file that calls @aws-sdk/client-ssm: StartSession,
 * ResumeSession, TerminateSession and DescribeInstanceInformation. Every failure becomes a
 * GatehouseError('GH_ERR_SSM') carrying the AWS error name, so callers never see SDK types.
 */
import {
  DescribeInstanceInformationCommand,
  ResumeSessionCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
  type InstanceInformationStringFilter,
  type SSMClientConfig,
} from '@aws-sdk/client-ssm';
import type { Logger } from 'pino';
import { GatehouseError } from '../../domain/errors.js';
import type { Timers } from './clock.js';

export type SsmCredentials = NonNullable<SSMClientConfig['credentials']>;

export interface SsmClientConfig {
  readonly region: string;
  /** API endpoint override (simulator, VPC endpoint); undefined means the SDK's regional default. */
  readonly endpoint: string | undefined;
  /** Undefined means the SDK's default credential chain. */
  readonly credentials: SsmCredentials | undefined;
}

/** Makes the SDK client for one region/endpoint; injectable so tests can count or fake calls. */
export type SsmClientFactory = (config: SsmClientConfig) => SSMClient;

export const defaultSsmClientFactory: SsmClientFactory = (config) =>
  new SSMClient({
    region: config.region,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
    maxAttempts: 3,
  });

export interface StartSessionInput {
  readonly target: string;
  readonly documentName: string;
  readonly parameters: Readonly<Record<string, readonly string[]>> | undefined;
  /** Shown in CloudTrail; we put the Gatehouse session id here. */
  readonly reason: string;
}

export interface StartedSession {
  readonly sessionId: string;
  readonly streamUrl: string;
  readonly tokenValue: string;
}

export interface ResumedSession {
  /** Undefined when ResumeSession returned none: reconnect to the original URL ([P] HEAD). */
  readonly streamUrl: string | undefined;
  /** Null when the session has timed out on AWS's side. */
  readonly tokenValue: string | null;
}

export interface InstanceInfo {
  readonly instanceId: string;
  readonly pingStatus: string;
  readonly platformType: string;
  readonly platformName: string;
  readonly platformVersion: string;
  readonly agentVersion: string;
}

export interface SsmApi {
  startSession(input: StartSessionInput, signal?: AbortSignal): Promise<StartedSession>;
  resumeSession(sessionId: string): Promise<ResumedSession>;
  terminateSession(sessionId: string): Promise<void>;
  /**
   * DescribeInstanceInformation filtered to one instance id and, optionally, `tag:<key>` = value
   * filters (a real DescribeInstanceInformation filter key; all filters must match).
   */
  describeInstance(instanceId: string, tags?: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<InstanceInfo[]>;
}

/** The AWS error name (e.g. "InvalidInstanceId") kept on a GH_ERR_SSM error, if any. */
export function awsErrorName(err: unknown): string | undefined {
  if (err instanceof GatehouseError && typeof err.details?.['awsError'] === 'string') return err.details['awsError'];
  return undefined;
}

function wrap(operation: string, err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const status = e.$metadata?.httpStatusCode;
  return new GatehouseError('GH_ERR_SSM', `SSM ${operation} failed: ${name}: ${message}`, {
    operation,
    awsError: name,
    ...(status !== undefined ? { httpStatus: status } : {}),
  }, { cause: err });
}

function required(operation: string, field: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new GatehouseError('GH_ERR_SSM', `SSM ${operation} returned no ${field}`, { operation });
  }
  return value;
}

export function createSsmApi(client: SSMClient): SsmApi {
  return {
    async startSession(input, signal) {
      let out;
      try {
        out = await client.send(new StartSessionCommand({
          Target: input.target,
          DocumentName: input.documentName,
          Reason: input.reason.slice(0, 256),
          ...(input.parameters !== undefined
            ? { Parameters: Object.fromEntries(Object.entries(input.parameters).map(([k, v]) => [k, [...v]])) }
            : {}),
        }), signal !== undefined ? { abortSignal: signal } : {});
      } catch (err) {
        throw wrap('StartSession', err);
      }
      return {
        sessionId: required('StartSession', 'SessionId', out.SessionId),
        streamUrl: required('StartSession', 'StreamUrl', out.StreamUrl),
        tokenValue: required('StartSession', 'TokenValue', out.TokenValue),
      };
    },

    async resumeSession(sessionId) {
      try {
        const out = await client.send(new ResumeSessionCommand({ SessionId: sessionId }));
        const url = out.StreamUrl;
        const token = out.TokenValue;
        return { streamUrl: url !== undefined && url !== '' ? url : undefined, tokenValue: token !== undefined && token !== '' ? token : null };
      } catch (err) {
        throw wrap('ResumeSession', err);
      }
    },

    async terminateSession(sessionId) {
      try {
        await client.send(new TerminateSessionCommand({ SessionId: sessionId }));
      } catch (err) {
        throw wrap('TerminateSession', err);
      }
    },

    async describeInstance(instanceId, tags, signal) {
      const filters: InstanceInformationStringFilter[] = [{ Key: 'InstanceIds', Values: [instanceId] }];
      for (const [key, value] of Object.entries(tags ?? {})) filters.push({ Key: `tag:${key}`, Values: [value] });
      try {
        const out = await client.send(new DescribeInstanceInformationCommand({ Filters: filters }), signal !== undefined ? { abortSignal: signal } : {});
        return (out.InstanceInformationList ?? []).map((i) => ({
          instanceId: i.InstanceId ?? '',
          pingStatus: i.PingStatus ?? '',
          platformType: i.PlatformType ?? '',
          platformName: i.PlatformName ?? '',
          platformVersion: i.PlatformVersion ?? '',
          agentVersion: i.AgentVersion ?? '',
        })).filter((i) => i.instanceId === instanceId);
      } catch (err) {
        throw wrap('DescribeInstanceInformation', err);
      }
    },
  };
}

/**
 * TerminateSession, best effort and bounded: resolves after the call or after `ms`, whichever is
 * first, and never rejects (a failure is logged). Used wherever Gatehouse ends a session.
 */
export function terminateWithin(api: SsmApi, sessionId: string, ms: number, timers: Timers, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const cancel = timers.after(ms, () => {
      logger.warn({ ssmSessionId: sessionId }, 'ssm TerminateSession did not answer in time');
      resolve();
    });
    api.terminateSession(sessionId).then(
      () => {
        cancel();
        resolve();
      },
      (err: unknown) => {
        cancel();
        logger.warn({ err: (err as Error).message }, 'ssm TerminateSession failed');
        resolve();
      },
    );
  });
}
