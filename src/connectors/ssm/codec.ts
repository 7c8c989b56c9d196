/**
 * The binary AgentMessage (the plugin calls it ClientMessage) framing of the SSM data channel:
 * spec §5. All integers big-endian; 116-byte header (plus the 4-byte PayloadLength) then payload.
 *
 *   0 HeaderLength u32 | 4 MessageType [32] | 36 SchemaVersion u32 | 40 CreatedDate u64 (ms)
 *  48 SequenceNumber i64 | 56 Flags u64 | 64 MessageId [16] (halves swapped) | 80 PayloadDigest [32]
 * 112 PayloadType u32 | 116 PayloadLength u32 | 120 Payload
 *
 * Encoding writes straight into the one frame buffer (the message id's random bytes included), so a
 * keystroke costs the frame and its digest and nothing else. Decoding slices the payload as a view
 * of the incoming buffer, never a copy.
 */
import { hash, randomFillSync } from 'node:crypto';
import { GatehouseError } from '../../domain/errors.js';

export const HEADER_LENGTH = 116;
export const PAYLOAD_OFFSET = 120;
const TYPE_OFFSET = 4;
const TYPE_LENGTH = 32;
const SCHEMA_OFFSET = 36;
const DATE_OFFSET = 40;
const SEQ_OFFSET = 48;
const FLAGS_OFFSET = 56;
const ID_OFFSET = 64;
const DIGEST_OFFSET = 80;
const DIGEST_LENGTH = 32;
const PAYLOAD_TYPE_OFFSET = 112;
/** The channel_closed variant seen by [M]: no PayloadType field (spec §5.3). */
const SHORT_HEADER_LENGTH = 112;
const TWO_32 = 0x1_0000_0000;

export const MessageType = {
  InputStreamData: 'input_stream_data',
  OutputStreamData: 'output_stream_data',
  Acknowledge: 'acknowledge',
  ChannelClosed: 'channel_closed',
  StartPublication: 'start_publication',
  PausePublication: 'pause_publication',
  AgentSessionState: 'agent_session_state',
} as const;

/** PayloadType values (spec §6.2). */
export const PayloadType = {
  None: 0,
  Output: 1,
  Error: 2,
  Size: 3,
  Parameter: 4,
  HandshakeRequest: 5,
  HandshakeResponse: 6,
  HandshakeComplete: 7,
  EncChallengeRequest: 8,
  EncChallengeResponse: 9,
  Flag: 10,
  StdErr: 11,
  ExitCode: 12,
} as const;

/** Flags bits: documented but never read by either endpoint (spec §5.3). */
export const Flags = { Syn: 1, Fin: 2, Ack: 3 } as const;

export interface AgentMessage {
  readonly headerLength: number;
  readonly messageType: string;
  readonly schemaVersion: number;
  /** Epoch milliseconds. */
  readonly createdDate: number;
  readonly sequenceNumber: number;
  readonly flags: number;
  /** Lower-case hyphenated UUID (already swapped back from wire order). */
  readonly messageId: string;
  /** The 32 digest bytes as sent (a view into the frame). */
  readonly payloadDigest: Buffer;
  /** 0 when the frame has the short header (no PayloadType field). */
  readonly payloadType: number;
  /** As written by the sender; the payload itself runs to the end of the frame, as [P] reads it. */
  readonly payloadLength: number;
  /** A view into the frame: from HeaderLength + 4 to the end. */
  readonly payload: Buffer;
}

export interface EncodeFields {
  readonly messageType: string;
  readonly schemaVersion?: number;
  readonly createdDate: number;
  readonly sequenceNumber: number;
  readonly flags: number;
  /** Hyphenated UUID; omitted means a fresh random v4 id written straight into the frame. */
  readonly messageId?: string;
  readonly payloadType: number;
  readonly payload: Uint8Array;
}

/**
 * Deviations from the canonical form, for reproducing what other implementations put on the wire
 * (the tolerance vector, the short channel_closed variant) and for the simulator's fault injection.
 */
export interface EncodeQuirks {
  /** 112 writes the channel_closed variant without a PayloadType field. Default 116. */
  readonly headerLength?: 112 | 116;
  /** 'space' (canonical, right-padded), 'nul' (right-padded with NULs), 'nul-left' ([B], [G]). */
  readonly padding?: 'space' | 'nul' | 'nul-left';
  /** Written in place of sha256(payload). */
  readonly digest?: Uint8Array;
}

function protocolError(message: string, details?: Record<string, unknown>): GatehouseError {
  return new GatehouseError('GH_ERR_SSM_PROTOCOL', message, details);
}

function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32) >>> 0, offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

function readI64(buf: Buffer, offset: number): number {
  return buf.readInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Writes a UUID in the wire's swapped-halves order (spec §5.1): the least-significant 8 bytes
 * first, then the most-significant 8.
 */
export function writeSwappedUuid(buf: Buffer, offset: number, uuid: string): void {
  if (!UUID_RE.test(uuid)) throw protocolError(`not a UUID: ${JSON.stringify(uuid)}`);
  const hex = uuid.replaceAll('-', '');
  buf.write(hex.slice(16), offset, 8, 'hex');
  buf.write(hex.slice(0, 16), offset + 8, 8, 'hex');
}

/** Reads a swapped-halves UUID back into its hyphenated string form. */
export function readSwappedUuid(buf: Buffer, offset: number): string {
  const msb = offset + 8;
  return (
    buf.toString('hex', msb, msb + 4) + '-' + buf.toString('hex', msb + 4, msb + 6) + '-' +
    buf.toString('hex', msb + 6, msb + 8) + '-' + buf.toString('hex', offset, offset + 2) + '-' +
    buf.toString('hex', offset + 2, offset + 8)
  );
}

/** A random v4 UUID written in wire order without an intermediate buffer. */
function writeRandomSwappedUuid(buf: Buffer, offset: number): void {
  randomFillSync(buf, offset, 16);
  // RFC byte 8 (variant) is wire byte 0; RFC byte 6 (version) is wire byte 8 + 6.
  buf[offset] = ((buf[offset] ?? 0) & 0x3f) | 0x80;
  buf[offset + 14] = ((buf[offset + 14] ?? 0) & 0x0f) | 0x40;
}

function writeMessageType(buf: Buffer, type: string, padding: EncodeQuirks['padding']): void {
  const length = Buffer.byteLength(type, 'ascii');
  if (length === 0 || length > TYPE_LENGTH) throw protocolError(`MessageType must be 1..32 bytes: ${type}`);
  const pad = padding === 'space' || padding === undefined ? 0x20 : 0x00;
  buf.fill(pad, TYPE_OFFSET, TYPE_OFFSET + TYPE_LENGTH);
  const at = padding === 'nul-left' ? TYPE_OFFSET + TYPE_LENGTH - length : TYPE_OFFSET;
  buf.write(type, at, length, 'ascii');
}

export function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

/**
 * The hot path (every keystroke, every output chunk, every ack): a canonical frame with a fresh
 * random message id, from positional arguments so nothing but the frame and its digest is allocated.
 */
export function encodeStreamFrame(messageType: string, createdDate: number, sequenceNumber: number, flags: number, payloadType: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(PAYLOAD_OFFSET + payload.length);
  frame.writeUInt32BE(HEADER_LENGTH, 0);
  writeMessageType(frame, messageType, 'space');
  frame.writeUInt32BE(1, SCHEMA_OFFSET);
  writeU64(frame, createdDate, DATE_OFFSET);
  writeU64(frame, sequenceNumber, SEQ_OFFSET);
  writeU64(frame, flags, FLAGS_OFFSET);
  writeRandomSwappedUuid(frame, ID_OFFSET);
  frame.set(sha256(payload), DIGEST_OFFSET);
  frame.writeUInt32BE(payloadType, PAYLOAD_TYPE_OFFSET);
  frame.writeUInt32BE(payload.length, HEADER_LENGTH);
  frame.set(payload, PAYLOAD_OFFSET);
  return frame;
}

/** Serialises one frame ([P] SerializeClientMessage, [A] Serialize), with every field chosen. */
export function encodeAgentMessage(fields: EncodeFields, quirks?: EncodeQuirks): Buffer {
  const headerLength = quirks?.headerLength ?? HEADER_LENGTH;
  const payloadOffset = headerLength + 4;
  const frame = Buffer.allocUnsafe(payloadOffset + fields.payload.length);
  frame.writeUInt32BE(headerLength, 0);
  writeMessageType(frame, fields.messageType, quirks?.padding);
  frame.writeUInt32BE(fields.schemaVersion ?? 1, SCHEMA_OFFSET);
  writeU64(frame, fields.createdDate, DATE_OFFSET);
  writeU64(frame, fields.sequenceNumber, SEQ_OFFSET);
  writeU64(frame, fields.flags, FLAGS_OFFSET);
  if (fields.messageId === undefined) writeRandomSwappedUuid(frame, ID_OFFSET);
  else writeSwappedUuid(frame, ID_OFFSET, fields.messageId);
  const digest = quirks?.digest ?? sha256(fields.payload);
  if (digest.length !== DIGEST_LENGTH) throw protocolError('PayloadDigest must be 32 bytes');
  frame.set(digest, DIGEST_OFFSET);
  if (headerLength >= HEADER_LENGTH) frame.writeUInt32BE(fields.payloadType, PAYLOAD_TYPE_OFFSET);
  frame.writeUInt32BE(fields.payload.length, headerLength);
  frame.set(fields.payload, payloadOffset);
  return frame;
}

function trimMessageType(frame: Buffer): string {
  let start = TYPE_OFFSET;
  let end = TYPE_OFFSET + TYPE_LENGTH;
  // NULs from both ends, then whitespace ([P] getString), in one pass over either padding.
  while (start < end && (frame[start] === 0x00 || frame[start] === 0x20)) start++;
  while (end > start && (frame[end - 1] === 0x00 || frame[end - 1] === 0x20)) end--;
  return frame.toString('ascii', start, end);
}

function isPublication(type: string): boolean {
  return type === MessageType.StartPublication || type === MessageType.PausePublication;
}

/**
 * Parses one frame. Tolerant where real peers are ([M]'s 112-byte channel_closed, NUL padding,
 * PayloadLength ignored for slicing as [P] does) and strict where [P] is (HeaderLength, MessageType,
 * CreatedDate; start/pause_publication are exempt). Throws GH_ERR_SSM_PROTOCOL. Does not check the
 * digest: see `digestMatches`, which the receiver applies according to its role.
 */
export function decodeAgentMessage(frame: Buffer): AgentMessage {
  if (frame.length < SHORT_HEADER_LENGTH + 4) {
    throw protocolError(`frame too short: ${frame.length} bytes`, { length: frame.length });
  }
  const headerLength = frame.readUInt32BE(0);
  const messageType = trimMessageType(frame);
  const publication = isPublication(messageType);
  if (!publication) {
    if (headerLength === 0) throw protocolError('HeaderLength is 0');
    if (messageType === '') throw protocolError('MessageType is empty');
  }
  if (headerLength < SHORT_HEADER_LENGTH || headerLength + 4 > frame.length) {
    if (publication) return publicationMessage(frame, messageType);
    throw protocolError(`HeaderLength ${headerLength} does not fit a ${frame.length}-byte frame`, { headerLength });
  }
  const createdDate = readU64(frame, DATE_OFFSET);
  if (createdDate === 0 && !publication) throw protocolError('CreatedDate is 0');
  return {
    headerLength,
    messageType,
    schemaVersion: frame.readUInt32BE(SCHEMA_OFFSET),
    createdDate,
    sequenceNumber: readI64(frame, SEQ_OFFSET),
    flags: readU64(frame, FLAGS_OFFSET),
    messageId: readSwappedUuid(frame, ID_OFFSET),
    payloadDigest: frame.subarray(DIGEST_OFFSET, DIGEST_OFFSET + DIGEST_LENGTH),
    payloadType: headerLength >= HEADER_LENGTH ? frame.readUInt32BE(PAYLOAD_TYPE_OFFSET) : 0,
    payloadLength: frame.readUInt32BE(headerLength),
    payload: frame.subarray(headerLength + 4),
  };
}

/** A publication frame too mangled to parse is still a publication frame ([P] skips validation). */
function publicationMessage(frame: Buffer, messageType: string): AgentMessage {
  return {
    headerLength: 0, messageType, schemaVersion: 0, createdDate: 0, sequenceNumber: 0, flags: 0,
    messageId: '00000000-0000-0000-0000-000000000000', payloadDigest: Buffer.alloc(0),
    payloadType: 0, payloadLength: 0, payload: Buffer.alloc(0),
  };
}

/**
 * [P] Validate(): a frame whose PayloadLength is non-zero must carry sha256(payload). Publication
 * frames are never checked. (The agent, [A], never checks at all.)
 */
export function digestMatches(message: AgentMessage): boolean {
  if (isPublication(message.messageType) || message.payloadLength === 0) return true;
  return sha256(message.payload).equals(message.payloadDigest);
}
