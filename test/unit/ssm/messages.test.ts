import { describe, expect, it } from 'vitest';
import {
  encodeOpenDataChannel,
  encodeSizePayload,
  parseAckSequence,
  parseChannelClosedPayload,
  parseExitCodePayload,
  parseFlagPayload,
  parseOpenDataChannel,
  parseSizePayload,
} from '../../../src/connectors/ssm/messages.js';

describe('payload formats', () => {
  it('writes the open-data-channel message in Go field order (§13 example)', () => {
    const text = encodeOpenDataChannel({
      requestId: 'b9b3f5a2-7f1e-4a53-9c44-2f0f4f0f6a11', tokenValue: 'AAEAA...', clientId: '5d4c7e1a-0b55-4f7c-8d39-1c6f2f9b8a20', clientVersion: '1.2.650.0',
    });
    expect(text).toBe('{"MessageSchemaVersion":"1.0","RequestId":"b9b3f5a2-7f1e-4a53-9c44-2f0f4f0f6a11","TokenValue":"AAEAA...","ClientId":"5d4c7e1a-0b55-4f7c-8d39-1c6f2f9b8a20","ClientVersion":"1.2.650.0"}');
    expect(parseOpenDataChannel(text)).toEqual({ requestId: 'b9b3f5a2-7f1e-4a53-9c44-2f0f4f0f6a11', tokenValue: 'AAEAA...', clientId: '5d4c7e1a-0b55-4f7c-8d39-1c6f2f9b8a20', clientVersion: '1.2.650.0' });
  });

  it('accepts an open message without the optional fields, and refuses a bad one', () => {
    expect(parseOpenDataChannel('{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t"}')).toEqual({ requestId: 'r', tokenValue: 't' });
    expect(() => parseOpenDataChannel('{"MessageSchemaVersion":"2.0","RequestId":"r","TokenValue":"t"}')).toThrow(/MessageSchemaVersion/);
    expect(() => parseOpenDataChannel('{"MessageSchemaVersion":"1.0","RequestId":"r"}')).toThrow(/TokenValue/);
    expect(() => parseOpenDataChannel('[]')).toThrow(/not a JSON object/);
  });

  it('reads only the sequence number from an ack, and refuses a bad one', () => {
    expect(parseAckSequence(Buffer.from('{"AcknowledgedMessageSequenceNumber":7}'))).toBe(7);
    expect(() => parseAckSequence(Buffer.from('{"AcknowledgedMessageSequenceNumber":"7"}'))).toThrow(/AcknowledgedMessageSequenceNumber/);
    expect(() => parseAckSequence(Buffer.from('{'))).toThrow(/not JSON/);
  });

  it('size payloads', () => {
    expect(encodeSizePayload(202, 18).toString()).toBe('{"cols":202,"rows":18}');
    expect(parseSizePayload(Buffer.from('{"cols":202,"rows":18}'))).toEqual({ cols: 202, rows: 18 });
    expect(() => parseSizePayload(Buffer.from('{"cols":"x","rows":18}'))).toThrow(/integers/);
  });

  it('channel_closed is read leniently', () => {
    expect(parseChannelClosedPayload(Buffer.from('{"SessionId":"s","Output":"Session terminated","SchemaVersion":1}'))).toMatchObject({ sessionId: 's', output: 'Session terminated' });
    expect(parseChannelClosedPayload(Buffer.from('garbage'))).toMatchObject({ output: '', sessionId: '' });
  });

  it('exit codes and flags', () => {
    expect(parseExitCodePayload(Buffer.from('EXIT_CODE: 3'))).toBe(3);
    expect(parseExitCodePayload(Buffer.from('EXIT_CODE: -1'))).toBe(-1);
    expect(parseExitCodePayload(Buffer.from('done'))).toBeNull();
    expect(parseFlagPayload(Buffer.from('00000002', 'hex'))).toBe(2);
    expect(() => parseFlagPayload(Buffer.from('02', 'hex'))).toThrow(/4 bytes/);
  });
});
