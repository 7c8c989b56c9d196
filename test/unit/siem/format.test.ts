/**
 * What the sinks put on the wire: RFC 5424 headers and structured data, RFC 6587 frames, CEF, and
 * the OCSF object of every catalogue event.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, type EventType } from '../../../src/events/catalogue.js';
import { seal, GENESIS } from '../../../src/events/chain.js';
import type { AuditEvent } from '../../../src/events/types.js';
import { cefValueEscape, formatCef, parseCef } from '../../../src/siem/cef.js';
import { parseEndpoint, toOcsf } from '../../../src/siem/ocsf.js';
import { FACILITIES, formatRfc5424, frame, parseRfc5424, SD_FIELDS, sdEscape, unframe } from '../../../src/siem/rfc5424.js';
import { draft } from '../audit/chain-fixture.js';

const TYPES = Object.keys(CATALOGUE) as EventType[];
const OPTS = { facility: FACILITIES.authpriv, appName: 'gatehouse', procId: '4242', sdId: 'gatehouse@32473' };

function event(over: Partial<AuditEvent> = {}, type: EventType = 'command.denied'): AuditEvent {
  const d = draft(type, type === 'command.denied' ? { command: 'rm -rf /tmp/x', reasons: [{ command: 'rm', rule: 'rm *', why: 'denied' }], mode: 'interactive' } : undefined);
  return { ...seal(GENESIS, d), ...over };
}

describe('RFC 5424', () => {
  it('formats header, structured data with every non-null field, and the body', () => {
    const e = event();
    const line = formatRfc5424(e, JSON.stringify(e), OPTS);
    const p = parseRfc5424(line);
    // authpriv (10) * 8 + warning (4)
    expect(p).toMatchObject({ pri: 84, version: 1, timestamp: e.time, hostname: 'b1', appName: 'gatehouse', procId: '4242', msgId: 'command.denied' });
    const sd = p.sd.get('gatehouse@32473');
    expect(sd).toEqual({ id: e.id, seq: '1', type: e.type, code: 'GH3001', severity: 'warning', broker: 'b1', actor: 'alice', user: 'alice', target: 'web-1', grantId: 'g-1', incident: 'INC-1', sessionId: 's-1', source: '127.0.0.1:50000', hash: e.hash });
    expect(JSON.parse(p.msg)).toEqual(e);
  });

  it.each([
    ['info', 6],
    ['notice', 5],
    ['warning', 4],
    ['critical', 2],
  ] as const)('maps severity %s to syslog severity %d', (severity, n) => {
    const p = parseRfc5424(formatRfc5424(event({ severity }), '{}', { ...OPTS, facility: FACILITIES.auth }));
    expect(p.pri).toBe(4 * 8 + n);
  });

  it('omits null fields and escapes ", \\ and ] in values', () => {
    const e = event({ actor: null, target: 'we"b]\\1', incident: 'INC "x"' });
    const line = formatRfc5424(e, 'body', OPTS);
    expect(line).toContain('target="we\\"b\\]\\\\1"');
    const sd = parseRfc5424(line).sd.get('gatehouse@32473') ?? {};
    expect(sd.actor).toBeUndefined();
    expect(sd.target).toBe('we"b]\\1');
    expect(sd.incident).toBe('INC "x"');
  });

  it('round-trips any string through SD escaping', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const p = parseRfc5424(formatRfc5424(event({ user: s }), 'm', OPTS));
        expect(p.sd.get('gatehouse@32473')?.user).toBe(s);
      }),
    );
    expect(sdEscape('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
  });

  it('every catalogue type fits in MSGID (32 printable ASCII characters)', () => {
    for (const t of TYPES) expect(t).toMatch(/^[\x21-\x7e]{1,32}$/);
    expect(SD_FIELDS).toContain('seq');
  });

  it('frames with octet counting by bytes, and unframes a stream split anywhere', () => {
    const msgs = ['<1>1 - - - - - - héllo', 'two', '<3>1 x'];
    const bytes = Buffer.concat(msgs.map(frame));
    expect(frame('héllo').toString()).toBe('6 héllo');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const a = unframe(bytes.subarray(0, cut));
      const b = unframe(Buffer.concat([a.rest, bytes.subarray(cut)]));
      expect([...a.messages, ...b.messages]).toEqual(msgs);
    }
  });
});

describe('CEF', () => {
  it('has the header fields and every event field in the extension', () => {
    const e = event();
    const line = formatCef(e, '0.1.0');
    const { header, ext } = parseCef(line);
    expect(header).toEqual(['CEF:0', 'Gatehouse', 'gatehouse', '0.1.0', 'GH3001', 'command.denied', '7']);
    expect(ext).toMatchObject({ rt: String(Date.parse(e.time)), externalId: e.id, cat: 'command.denied', dvchost: 'b1', suser: 'alice', duser: 'alice', dhost: 'web-1', src: '127.0.0.1', spt: '50000', cn1: '1', cs1: 'g-1', cs2: 'INC-1', cs3: 's-1', cs4: e.hash, cs5: '127.0.0.1:50000', act: 'denied' });
    expect(JSON.parse(ext.cs6 ?? '')).toEqual(e.data);
  });

  it('escapes | and \\ in the header, and \\ = CR LF in values', () => {
    expect(cefValueEscape('a=b\\c\nd\re')).toBe('a\\=b\\\\c\\nd\\re');
    const line = formatCef(event({ user: 'x=y z\nw' }), '1|2');
    expect(line.startsWith('CEF:0|Gatehouse|gatehouse|1\\|2|')).toBe(true);
    expect(parseCef(line).ext.duser).toBe('x=y z\nw');
  });

  it('round-trips any value', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(parseCef(formatCef(event({ target: s }), '1')).ext.dhost).toBe(s);
      }),
    );
  });
});

describe('OCSF', () => {
  it.each(TYPES)('%s maps to its catalogue class with the base attributes', (type) => {
    const e = { ...seal(GENESIS, draft(type)), type, code: CATALOGUE[type].code, severity: CATALOGUE[type].severity };
    const o = toOcsf(e, '0.1.0');
    const spec = CATALOGUE[type].ocsf;
    expect(o).toMatchObject({
      class_uid: spec.classUid,
      activity_id: spec.activityId,
      category_uid: Math.floor(spec.classUid / 1000),
      type_uid: spec.classUid * 100 + spec.activityId,
      time: Date.parse(e.time),
      metadata: { uid: e.id, sequence: e.seq, event_code: e.code, product: { name: 'Gatehouse', version: '0.1.0' } },
      unmapped: { hash: e.hash, data: e.data },
    });
    expect([1, 2, 3, 5]).toContain(o.severity_id);
    expect(o.status_id).toBe(['session.refused', 'command.denied', 'upstream.host_key_mismatch', 'recording.failed', 'grant.approval_refused'].includes(type) ? 2 : 1);
  });

  it('fills class-specific attributes: SSH endpoints, process command line', () => {
    const ssh = toOcsf({ ...event({}, 'session.start'), source: '[::1]:2222' }, '1');
    expect(ssh).toMatchObject({ class_uid: 4007, src_endpoint: { ip: '::1', port: 2222 }, dst_endpoint: { hostname: 'web-1' }, session: { uid: 's-1' } });
    expect(toOcsf(event(), '1')).toMatchObject({ class_uid: 1007, process: { cmd_line: 'rm -rf /tmp/x' }, status: 'Failure' });
    expect(parseEndpoint('ipv4:10.0.0.1:5000')).toEqual({ ip: '10.0.0.1', port: 5000 });
    expect(parseEndpoint('unix:/tmp/x')).toBeNull();
  });
});
