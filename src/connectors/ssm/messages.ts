/**
 * Payload formats carried inside AgentMessage frames (spec §4, §6.3–§6.5), written exactly as Go's
 * encoding/json writes them (compact, struct field order), so the bytes match the spec's vectors.
 */
import { GatehouseError } from '../../domain/errors.js';

/** What Gatehouse reports as its client version: the plugin release the spec was read against. */
export const CLIENT_VERSION = '1.2.650.0';

function protocolError(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_SSM_PROTOCOL', message);
}

function parseJsonObject(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    throw protocolError(`${what}: payload is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw protocolError(`${what}: payload is not a JSON object`);
  return value as Record<string, unknown>;
}

// --- open data channel (first TEXT frame) -------------------------------------------------------

export interface OpenDataChannel {
  readonly requestId: string;
  readonly tokenValue: string;
  readonly clientId?: string;
  readonly clientVersion?: string;
}

export function encodeOpenDataChannel(open: OpenDataChannel): string {
  return JSON.stringify({
    MessageSchemaVersion: '1.0',
    RequestId: open.requestId,
    TokenValue: open.tokenValue,
    ...(open.clientId !== undefined ? { ClientId: open.clientId } : {}),
    ...(open.clientVersion !== undefined ? { ClientVersion: open.clientVersion } : {}),
  });
}

/** The simulator's check of the open message (spec §12): schema 1.0, a RequestId, a token. */
export function parseOpenDataChannel(text: string): OpenDataChannel {
  const o = parseJsonObject(Buffer.from(text, 'utf8'), 'open data channel');
  if (o['MessageSchemaVersion'] !== '1.0') throw protocolError('open data channel: MessageSchemaVersion must be "1.0"');
  const requestId = o['RequestId'];
  const tokenValue = o['TokenValue'];
  if (typeof requestId !== 'string' || requestId === '') throw protocolError('open data channel: RequestId missing');
  if (typeof tokenValue !== 'string' || tokenValue === '') throw protocolError('open data channel: TokenValue missing');
  const clientId = o['ClientId'];
  const clientVersion = o['ClientVersion'];
  return {
    requestId,
    tokenValue,
    ...(typeof clientId === 'string' ? { clientId } : {}),
    ...(typeof clientVersion === 'string' ? { clientVersion } : {}),
  };
}

// --- acknowledge ---------------------------------------------------------------------------------

/** The acknowledge payload, byte-identical to [P] SerializeClientMessageWithAcknowledgeContent. */
export function encodeAckPayload(ackedType: string, ackedId: string, ackedSeq: number): Buffer {
  return Buffer.from(
    `{"AcknowledgedMessageType":"${ackedType}","AcknowledgedMessageId":"${ackedId}",` +
      `"AcknowledgedMessageSequenceNumber":${ackedSeq},"IsSequentialMessage":true}`,
    'utf8',
  );
}

/** Only the acknowledged sequence number is used on receipt ([P], [A]); type and id are informational. */
export function parseAckSequence(payload: Uint8Array): number {
  const seq = parseJsonObject(payload, 'acknowledge')['AcknowledgedMessageSequenceNumber'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw protocolError('acknowledge: bad AcknowledgedMessageSequenceNumber');
  return seq;
}

// --- size ----------------------------------------------------------------------------------------

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

export function encodeSizePayload(cols: number, rows: number): Buffer {
  return Buffer.from(`{"cols":${cols >>> 0},"rows":${rows >>> 0}}`, 'utf8');
}

export function parseSizePayload(payload: Uint8Array): TerminalSize {
  const o = parseJsonObject(payload, 'size');
  const cols = o['cols'];
  const rows = o['rows'];
  if (typeof cols !== 'number' || typeof rows !== 'number' || !Number.isInteger(cols) || !Number.isInteger(rows)) {
    throw protocolError('size: cols and rows must be integers');
  }
  return { cols, rows };
}

// --- channel_closed ------------------------------------------------------------------------------

export interface ChannelClosed {
  readonly messageId: string;
  readonly createdDate: string;
  readonly destinationId: string;
  readonly sessionId: string;
  readonly schemaVersion: number;
  /** Human-readable reason; empty for an ordinary exit. */
  readonly output: string;
}

export function encodeChannelClosedPayload(c: ChannelClosed): Buffer {
  return Buffer.from(
    JSON.stringify({
      MessageId: c.messageId,
      CreatedDate: c.createdDate,
      DestinationId: c.destinationId,
      SessionId: c.sessionId,
      MessageType: 'channel_closed',
      SchemaVersion: c.schemaVersion,
      Output: c.output,
    }),
    'utf8',
  );
}

/** Lenient: every field is optional in practice; a non-JSON payload yields empty fields. */
export function parseChannelClosedPayload(payload: Uint8Array): ChannelClosed {
  let o: Record<string, unknown> = {};
  try {
    o = parseJsonObject(payload, 'channel_closed');
  } catch {
    // [P] would print its generic "Exiting session" line; so do we.
  }
  const str = (key: string): string => (typeof o[key] === 'string' ? (o[key] as string) : '');
  const schemaVersion = typeof o['SchemaVersion'] === 'number' ? (o['SchemaVersion'] as number) : 1;
  return {
    messageId: str('MessageId'),
    createdDate: str('CreatedDate'),
    destinationId: str('DestinationId'),
    sessionId: str('SessionId'),
    schemaVersion,
    output: str('Output'),
  };
}

// --- flags and exit codes ------------------------------------------------------------------------

export const FlagValue = { DisconnectToPort: 1, TerminateSession: 2, ConnectToPortError: 3 } as const;

export function encodeFlagPayload(flag: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(flag, 0);
  return b;
}

export function parseFlagPayload(payload: Uint8Array): number {
  if (payload.length !== 4) throw protocolError('flag: payload must be 4 bytes');
  return Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32BE(0);
}

export function encodeExitCodePayload(code: number): Buffer {
  return Buffer.from(`EXIT_CODE: ${code}`, 'ascii');
}

/** "EXIT_CODE: <n>" ([A] shell.go sendExitCode); null when the payload is not of that form. */
export function parseExitCodePayload(payload: Uint8Array): number | null {
  const m = /^EXIT_CODE:\s*(-?\d+)\s*$/.exec(Buffer.from(payload).toString('ascii'));
  return m?.[1] !== undefined ? Number(m[1]) : null;
}
