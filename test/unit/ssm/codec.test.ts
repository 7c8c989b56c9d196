import { describe, expect, it } from 'vitest';
import {
  decodeAgentMessage,
  digestMatches,
  encodeAgentMessage,
  encodeStreamFrame,
  readSwappedUuid,
  writeSwappedUuid,
  type EncodeFields,
} from '../../../src/connectors/ssm/codec.js';
import { encodeHandshakeResponse } from '../../../src/connectors/ssm/handshake.js';
import { encodeAckPayload, encodeChannelClosedPayload, encodeFlagPayload, encodeSizePayload, FlagValue } from '../../../src/connectors/ssm/messages.js';
import { isGatehouseError } from '../../../src/domain/errors.js';
import { TOLERANCE, VECTORS } from './vectors.js';

const CREATED = 1503434274948;

/** Each vector's fields, with its payload built by our own payload encoders where one exists. */
const CASES: Record<keyof typeof VECTORS, EncodeFields> = {
  V1: { messageType: 'input_stream_data', createdDate: CREATED, sequenceNumber: 1, flags: 2, messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16', payloadType: 0, payload: Buffer.from('payload') },
  V2: { messageType: 'input_stream_data', createdDate: CREATED, sequenceNumber: 0, flags: 0, messageId: '0f8fad5b-d9cb-469f-a165-70867728950e', payloadType: 1, payload: Buffer.from('ls\r') },
  V3: { messageType: 'input_stream_data', createdDate: CREATED, sequenceNumber: 1, flags: 0, messageId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', payloadType: 3, payload: encodeSizePayload(80, 24) },
  V4: { messageType: 'output_stream_data', createdDate: CREATED, sequenceNumber: 0, flags: 1, messageId: 'e4eaaaf2-d142-11e1-b3e4-080027620cdd', payloadType: 1, payload: Buffer.from('sh-4.2$ ') },
  V5: {
    messageType: 'acknowledge', createdDate: CREATED, sequenceNumber: 0, flags: 3, messageId: 'a8098c1a-f86e-11da-bd1a-00112444be1e', payloadType: 0,
    payload: encodeAckPayload('output_stream_data', 'e4eaaaf2-d142-11e1-b3e4-080027620cdd', 0),
  },
  V6: { messageType: 'input_stream_data', createdDate: CREATED, sequenceNumber: 2, flags: 0, messageId: '16fd2706-8baf-433b-82eb-8c7fada847da', payloadType: 10, payload: encodeFlagPayload(FlagValue.TerminateSession) },
  V7: {
    messageType: 'channel_closed', createdDate: CREATED, sequenceNumber: 0, flags: 0, messageId: '886313e1-3b8a-5372-9b90-0c9aee199e5d', payloadType: 0,
    payload: encodeChannelClosedPayload({
      messageId: '886313e1-3b8a-5372-9b90-0c9aee199e5d', createdDate: '2017-08-22T20:37:54.948Z', destinationId: 'i-0123456789abcdef0',
      sessionId: 'user-0123456789abcdef0', schemaVersion: 1, output: '',
    }),
  },
  V8: {
    messageType: 'input_stream_data', createdDate: CREATED, sequenceNumber: 0, flags: 0, messageId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', payloadType: 6,
    payload: encodeHandshakeResponse({
      ClientVersion: '1.2.650.0',
      ProcessedClientActions: [{ ActionType: 'SessionType', ActionStatus: 1, ActionResult: null, Error: '' }],
      Errors: null,
    }),
  },
};

describe('AgentMessage codec: spec vectors', () => {
  for (const [name, fields] of Object.entries(CASES) as Array<[keyof typeof VECTORS, EncodeFields]>) {
    const wire = Buffer.from(VECTORS[name], 'hex');

    it(`${name}: encodes byte for byte`, () => {
      expect(encodeAgentMessage(fields).toString('hex')).toBe(VECTORS[name]);
    });

    it(`${name}: decodes every field`, () => {
      const m = decodeAgentMessage(wire);
      expect(m.headerLength).toBe(116);
      expect(m.messageType).toBe(fields.messageType);
      expect(m.schemaVersion).toBe(1);
      expect(m.createdDate).toBe(CREATED);
      expect(m.sequenceNumber).toBe(fields.sequenceNumber);
      expect(m.flags).toBe(fields.flags);
      expect(m.messageId).toBe(fields.messageId);
      expect(m.payloadType).toBe(fields.payloadType);
      expect(m.payloadLength).toBe(fields.payload.length);
      expect(Buffer.compare(m.payload, Buffer.from(fields.payload))).toBe(0);
      expect(m.payloadDigest.toString('hex')).toBe(wire.subarray(80, 112).toString('hex'));
      expect(digestMatches(m)).toBe(true);
    });
  }

  it('V1: decoding un-swaps the MessageId the wire carries at offset 64, least-significant half first (§5.1)', () => {
    const wire = Buffer.from(VECTORS.V1, 'hex');
    const id = decodeAgentMessage(wire).messageId;
    expect(id).toBe('dd01e56b-ff48-483e-a508-b5f073f31b16');
    const hex = id.replaceAll('-', '');
    expect(wire.subarray(64, 80).toString('hex')).toBe(hex.slice(16) + hex.slice(0, 16));
  });
});

describe('AgentMessage codec: UUID half swap', () => {
  it('writes the least-significant half first and reads it back', () => {
    const buf = Buffer.alloc(16);
    writeSwappedUuid(buf, 0, 'dd01e56b-ff48-483e-a508-b5f073f31b16');
    expect(buf.toString('hex')).toBe('a508b5f073f31b16dd01e56bff48483e');
    expect(readSwappedUuid(buf, 0)).toBe('dd01e56b-ff48-483e-a508-b5f073f31b16');
  });

  it('generates v4 ids in wire order for stream frames', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const m = decodeAgentMessage(encodeStreamFrame('input_stream_data', CREATED, i, 0, 1, Buffer.from('x')));
      expect(m.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(m.messageId);
    }
    expect(ids.size).toBe(50);
  });

  it('refuses a malformed UUID', () => {
    expect(() => writeSwappedUuid(Buffer.alloc(16), 0, 'not-a-uuid')).toThrow(/not a UUID/);
  });
});

describe('AgentMessage codec: tolerance', () => {
  const wire = Buffer.from(TOLERANCE, 'hex');

  it('decodes [B]\'s frame: NUL left padding, 32-bit CreatedDate, Size payload', () => {
    const m = decodeAgentMessage(wire);
    expect(wire.length).toBe(142);
    expect(m.messageType).toBe('input_stream_data');
    expect(m.createdDate).toBe(0x1e5b37e2);
    expect(m.sequenceNumber).toBe(0);
    expect(m.flags).toBe(1);
    expect(m.messageId).toBe('9f01a37d-bffe-fce1-730f-664914534e2a');
    expect(m.payloadType).toBe(3);
    expect(m.payload.toString()).toBe('{"cols":202,"rows":18}');
  });

  it('fails strict ([P]-style) digest validation, which the client applies and the agent does not', () => {
    expect(digestMatches(decodeAgentMessage(wire))).toBe(false);
  });

  it('re-encodes byte for byte with the matching quirks', () => {
    const m = decodeAgentMessage(wire);
    const again = encodeAgentMessage(
      { messageType: m.messageType, createdDate: m.createdDate, sequenceNumber: m.sequenceNumber, flags: m.flags, messageId: m.messageId, payloadType: m.payloadType, payload: m.payload },
      { padding: 'nul-left', digest: m.payloadDigest },
    );
    expect(again.toString('hex')).toBe(TOLERANCE);
  });

  it('round-trips the 112-byte channel_closed variant with NUL padding', () => {
    const payload = Buffer.from('{"Output":"bye"}');
    const wire112 = encodeAgentMessage({ messageType: 'channel_closed', createdDate: CREATED, sequenceNumber: 0, flags: 0, payloadType: 9, payload }, { headerLength: 112, padding: 'nul' });
    expect(wire112.length).toBe(116 + payload.length);
    expect(wire112.readUInt32BE(0)).toBe(112);
    expect(wire112.readUInt32BE(112)).toBe(payload.length);
    expect(wire112[4 + 'channel_closed'.length]).toBe(0);
    const m = decodeAgentMessage(wire112);
    expect(m.headerLength).toBe(112);
    expect(m.messageType).toBe('channel_closed');
    expect(m.payloadType).toBe(0);
    expect(m.payload.toString()).toBe('{"Output":"bye"}');
    expect(digestMatches(m)).toBe(true);
  });

  it('accepts malformed start/pause_publication frames without validation', () => {
    const zeroed = encodeAgentMessage({ messageType: 'start_publication', createdDate: 0, sequenceNumber: 0, flags: 0, payloadType: 0, payload: Buffer.from('x') }, { digest: new Uint8Array(32) });
    const m = decodeAgentMessage(zeroed);
    expect(m.messageType).toBe('start_publication');
    expect(digestMatches(m)).toBe(true);
    const mangled = Buffer.from(zeroed);
    mangled.writeUInt32BE(9999, 0);
    expect(decodeAgentMessage(mangled).messageType).toBe('start_publication');
  });
});

describe('AgentMessage codec: rejection', () => {
  const v2 = Buffer.from(VECTORS.V2, 'hex');

  function rejects(frame: Buffer, message: RegExp): void {
    let caught: unknown;
    try {
      decodeAgentMessage(frame);
    } catch (err) {
      caught = err;
    }
    expect(isGatehouseError(caught, 'GH_ERR_SSM_PROTOCOL')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  }

  it('flags a payload whose digest does not match', () => {
    const bad = Buffer.from(v2);
    bad[bad.length - 1] = 0x0a; // "ls\n" instead of "ls\r"
    expect(digestMatches(decodeAgentMessage(bad))).toBe(false);
    const badDigest = Buffer.from(v2);
    badDigest[80] = (badDigest[80] ?? 0) ^ 0xff;
    expect(digestMatches(decodeAgentMessage(badDigest))).toBe(false);
  });

  it('rejects short frames, zero HeaderLength, empty MessageType, zero CreatedDate, impossible HeaderLength', () => {
    rejects(v2.subarray(0, 100), /too short/);
    const hl0 = Buffer.from(v2);
    hl0.writeUInt32BE(0, 0);
    rejects(hl0, /HeaderLength is 0/);
    const noType = Buffer.from(v2);
    noType.fill(0x20, 4, 36);
    rejects(noType, /MessageType is empty/);
    const noDate = Buffer.from(v2);
    noDate.fill(0, 40, 48);
    rejects(noDate, /CreatedDate is 0/);
    const hlBig = Buffer.from(v2);
    hlBig.writeUInt32BE(5000, 0);
    rejects(hlBig, /does not fit/);
  });

  it('refuses to encode an over-long MessageType', () => {
    expect(() => encodeAgentMessage({ ...CASES.V2, messageType: 'x'.repeat(33) })).toThrow(/1\.\.32 bytes/);
  });
});
