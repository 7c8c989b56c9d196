/**
 * The SSM API endpoint, AWS JSON 1.1 as the SDK speaks it: POST / with
 * `X-Amz-Target: AmazonSSM.<Operation>`. Signatures are accepted unchecked; bodies are parsed and
 * required fields validated; errors are AWS-shaped (`{"__type": ..., "message": ...}`, HTTP 400).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOCUMENT_SESSION_TYPES } from './agent.js';
import { newToken, streamUrl, type SimContext, type SimInstance } from './state.js';

class ApiError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

type Json = Record<string, unknown>;
const MAX_BODY = 1 << 20;

function validation(field: string): ApiError {
  return new ApiError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
}

function requireString(body: Json, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw validation(field);
  return v;
}

function stringArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new ApiError('ValidationException', `${field} must be a non-empty list of strings`);
  }
  return v as string[];
}

function matchesFilter(inst: SimInstance, key: string, values: readonly string[]): boolean {
  if (key.startsWith('tag:')) {
    const tag = inst.tags[key.slice(4)];
    return tag !== undefined && values.includes(tag);
  }
  switch (key) {
    case 'InstanceIds': return values.includes(inst.instanceId);
    case 'PingStatus': return values.includes(inst.pingStatus);
    case 'PlatformTypes': return values.includes(inst.platformType);
    case 'AgentVersion': return values.includes(inst.agentVersion);
    case 'ResourceType': return values.includes(inst.instanceId.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance');
    case 'tag-key': return values.some((v) => Object.hasOwn(inst.tags, v));
    default: throw new ApiError('InvalidFilterKey', `The filter key ${key} is not valid`);
  }
}

function describe(ctx: SimContext, body: Json): Json {
  const conditions: Array<[string, string[]]> = [];
  if (body['Filters'] !== undefined) {
    if (!Array.isArray(body['Filters'])) throw new ApiError('ValidationException', 'Filters must be a list');
    for (const f of body['Filters'] as Json[]) {
      if (typeof f?.['Key'] !== 'string') throw validation('filters.member.key');
      conditions.push([f['Key'], stringArray(f['Values'], 'filters.member.values')]);
    }
  }
  if (body['InstanceInformationFilterList'] !== undefined) {
    if (!Array.isArray(body['InstanceInformationFilterList'])) throw new ApiError('ValidationException', 'InstanceInformationFilterList must be a list');
    for (const f of body['InstanceInformationFilterList'] as Json[]) {
      if (typeof f?.['key'] !== 'string') throw validation('instanceInformationFilterList.member.key');
      const values = stringArray(f['valueSet'], 'instanceInformationFilterList.member.valueSet');
      // The legacy filter list refuses unknown instance ids outright.
      if (f['key'] === 'InstanceIds' && values.some((id) => !ctx.instances.has(id))) {
        throw new ApiError('InvalidInstanceId', 'Instances not in a valid state for account');
      }
      conditions.push([f['key'], values]);
    }
  }
  const list = [...ctx.instances.values()].filter((inst) => conditions.every(([k, v]) => matchesFilter(inst, k, v)));
  ctx.events.emit('describe', { filters: conditions });
  return {
    InstanceInformationList: list.map((i) => ({
      InstanceId: i.instanceId,
      PingStatus: i.pingStatus,
      LastPingDateTime: Date.now() / 1000,
      AgentVersion: i.agentVersion,
      IsLatestVersion: true,
      PlatformType: i.platformType,
      PlatformName: i.platformName,
      PlatformVersion: i.platformVersion,
      ResourceType: i.instanceId.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
      IPAddress: '10.0.0.10',
      ComputerName: `${i.instanceId}.simulated`,
      SourceId: i.instanceId,
      SourceType: i.instanceId.startsWith('mi-') ? 'AWS::SSM::ManagedInstance' : 'AWS::EC2::Instance',
    })),
  };
}

function startSession(ctx: SimContext, body: Json): Json {
  const target = requireString(body, 'Target');
  const documentName = typeof body['DocumentName'] === 'string' ? body['DocumentName'] : 'SSM-SessionManagerRunShell';
  if (DOCUMENT_SESSION_TYPES[documentName] === undefined) throw new ApiError('InvalidDocument', `Document ${documentName} does not exist or is not a Session document`);
  const parameters: Record<string, string[]> = {};
  const raw = body['Parameters'];
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null) throw new ApiError('ValidationException', 'Parameters must be a map');
    for (const [k, v] of Object.entries(raw as Json)) parameters[k] = stringArray(v, `parameters.${k}`);
  }
  if (documentName !== 'SSM-SessionManagerRunShell' && parameters['command'] === undefined) {
    throw new ApiError('InvalidParameters', `Document ${documentName} requires the parameter command`);
  }
  const instance = ctx.instances.get(target);
  if (instance === undefined) throw new ApiError('InvalidInstanceId', `${target} is not a valid instance id`);
  if (instance.pingStatus !== 'Online') throw new ApiError('TargetNotConnected', `${target} is not connected.`);
  const session = ctx.createSession(instance, documentName, parameters);
  const token = newToken();
  session.tokens.add(token);
  ctx.events.emit('start', { sessionId: session.sessionId, target, documentName, parameters, reason: body['Reason'] });
  return { SessionId: session.sessionId, StreamUrl: streamUrl(ctx, session.sessionId), TokenValue: token };
}

function resumeSession(ctx: SimContext, body: Json): Json {
  const sessionId = requireString(body, 'SessionId');
  const session = ctx.sessions.get(sessionId);
  if (session === undefined) throw new ApiError('DoesNotExistException', `Session ${sessionId} does not exist`);
  ctx.events.emit('resume', { sessionId, active: session.state === 'active' });
  // An ended session answers with a null token: the client reports it as timed out.
  if (session.state !== 'active') return { SessionId: sessionId, TokenValue: null, StreamUrl: null };
  const token = newToken();
  session.tokens.add(token);
  return { SessionId: sessionId, TokenValue: token, StreamUrl: ctx.resumeNewStreamUrl ? streamUrl(ctx, sessionId) : null };
}

async function terminateSession(ctx: SimContext, body: Json): Promise<Json> {
  const sessionId = requireString(body, 'SessionId');
  const session = ctx.sessions.get(sessionId);
  ctx.events.emit('terminate', { sessionId, known: session !== undefined });
  if (session !== undefined && session.state === 'active') await session.agent.terminate('');
  return { SessionId: sessionId };
}

export function createApiHandler(ctx: SimContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      void handle(ctx, req, Buffer.concat(chunks), size).then(
        ([status, body]) => send(res, status, body),
        (err: unknown) => send(res, 500, { __type: 'InternalServerError', message: (err as Error).message }),
      );
    });
  };
}

async function handle(ctx: SimContext, req: IncomingMessage, raw: Buffer, size: number): Promise<[number, Json]> {
  try {
    if (req.method !== 'POST') throw new ApiError('UnknownOperationException', 'Only POST is supported', 404);
    if (size > MAX_BODY) throw new ApiError('SerializationException', 'Request body too large', 413);
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, operation] = target.split('.');
    if (service !== 'AmazonSSM' || operation === undefined) throw new ApiError('UnknownOperationException', `Unknown target ${JSON.stringify(target)}`);
    let body: Json;
    try {
      const parsed: unknown = JSON.parse(raw.length === 0 ? '{}' : raw.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Json;
    } catch {
      throw new ApiError('SerializationException', 'Request body is not a JSON object');
    }
    ctx.events.emit('api', { operation, body });
    switch (operation) {
      case 'StartSession': return [200, startSession(ctx, body)];
      case 'ResumeSession': return [200, resumeSession(ctx, body)];
      case 'TerminateSession': return [200, await terminateSession(ctx, body)];
      case 'DescribeInstanceInformation': return [200, describe(ctx, body)];
      default: throw new ApiError('UnknownOperationException', `Operation ${operation} is not simulated`);
    }
  } catch (err) {
    if (err instanceof ApiError) return [err.status, { __type: err.type, message: err.message }];
    throw err;
  }
}

function send(res: ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomBytes(16).toString('hex'),
    ...(status >= 400 && typeof body['__type'] === 'string' ? { 'x-amzn-ErrorType': body['__type'] } : {}),
  });
  res.end(text);
}
