/** Sink and audit configuration: parsing, defaults, absolute paths, and the errors createSinks reports at start. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildConfig, type Config } from '../../../src/config/load.js';
import { createSinks, sinkCursorKey, sinkName } from '../../../src/siem/index.js';
import { HttpSink } from '../../../src/siem/http.js';
import { SyslogSink } from '../../../src/siem/syslog.js';

const build = (raw: Record<string, unknown>, env: Record<string, string> = {}): Config => buildConfig(raw, { baseDir: '/etc/gatehouse', env, source: 'test' });
const ctx = { version: '0.1.0', log: pino({ level: 'silent' }) };

function problems(raw: Record<string, unknown>): string[] {
  try {
    build(raw);
  } catch (err) {
    return ((err as { details?: { problems?: string[] } }).details?.problems ?? []) as string[];
  }
  return [];
}

describe('sink configuration', () => {
  it('parses syslog and http options, with file paths made absolute', () => {
    const c = build(
      {
        sinks: [
          { syslog: { host: 'siem', port: 6514, tls: { ca: 'pki/ca.pem', cert: '/abs/c.pem', key: 'pki/k.pem' }, format: 'cef', facility: 'local3', sdId: 'gatehouse@12345', resendWindow: '30s', maxBackoff: '5s', backlogLimit: 1000, batchSize: 100 } },
          { http: { url: 'https://s:8088', format: 'splunk-hec', token: '${HEC}', tls: { ca: 'ca.pem' }, payload: 'ocsf', timeout: '3s', index: 'sec' } },
        ],
      },
      { HEC: 'secret-token' },
    );
    expect(c.sinks[0]).toEqual({
      syslog: { host: 'siem', port: 6514, tls: { ca: '/etc/gatehouse/pki/ca.pem', cert: '/abs/c.pem', key: '/etc/gatehouse/pki/k.pem', insecure: false }, format: 'cef', appName: 'gatehouse', facility: 'local3', sdId: 'gatehouse@12345', resendWindow: 30_000, maxBackoff: 5_000, backlogLimit: 1000, batchSize: 100 },
    });
    expect(c.sinks[1]).toMatchObject({ http: { token: 'secret-token', tls: { ca: '/etc/gatehouse/ca.pem' }, payload: 'ocsf', timeout: 3_000, index: 'sec' } });
  });

  it('reports bad sink options with their paths', () => {
    expect(problems({ sinks: [{ syslog: { host: 'h', port: 1, facility: 'nope' } }] }).join('\n')).toContain('sinks[0]');
    expect(problems({ sinks: [{ syslog: { host: 'h', port: 1, sdId: 'has space' } }] }).join('\n')).toContain('sinks[0]');
  });

  it('has an audit block with defaults, key paths under dataDir', () => {
    expect(build({}).audit).toEqual({ checkpointEvery: 1_000, checkpointIntervalMs: 300_000, signingKeyFile: '/etc/gatehouse/data/audit_ed25519.pem', trustedKeys: [] });
    expect(build({ audit: { checkpointEvery: 50, checkpointInterval: '1m', signingKeyFile: 'keys/a.pem', trustedKeys: ['keys/b.pub.pem'] } }).audit).toEqual({
      checkpointEvery: 50,
      checkpointIntervalMs: 60_000,
      signingKeyFile: '/etc/gatehouse/keys/a.pem',
      trustedKeys: ['/etc/gatehouse/keys/b.pub.pem'],
    });
  });
});

describe('createSinks', () => {
  it('builds each kind with its delivery options', () => {
    const c = build({ sinks: [{ file: { path: 'x.jsonl', maxBackoff: '2s' } }, { name: 'siem', syslog: { host: 'h', port: 1 } }, { http: { url: 'http://h/', hmacSecret: 's', batchSize: 20 } }] });
    const built = createSinks(c.sinks, ctx);
    expect(built.map((b) => b.sink.name)).toEqual(['file-0', 'siem', 'http-2']);
    expect(built[1]?.sink).toBeInstanceOf(SyslogSink);
    expect(built[2]?.sink).toBeInstanceOf(HttpSink);
    expect(built.map((b) => b.options)).toEqual([{ maxBackoffMs: 2_000 }, {}, { batchSize: 20 }]);
    expect(c.sinks.map(sinkName)).toEqual(['file-0', 'siem', 'http-2']);
    expect(sinkCursorKey('sqlite', 'b1', 'siem')).toBe('siem');
    expect(sinkCursorKey('postgres', 'b1', 'siem')).toBe('b1/siem');
  });

  it.each([
    [{ http: { url: 'http://h/', format: 'webhook' } }, 'sinks[0].http.hmacSecret: a webhook sink signs every request and needs a secret'],
    [{ http: { url: 'http://h/', format: 'splunk-hec' } }, 'sinks[0].http.token: a splunk-hec sink needs its HEC token'],
    [{ syslog: { host: 'h', port: 1, tls: { ca: '/nonexistent/ca.pem' } } }, 'sinks[0].syslog.tls.ca: cannot read /nonexistent/ca.pem: ENOENT'],
    [{ syslog: { host: 'h', port: 1, tls: { cert: '/x.pem' } } }, 'sinks[0].syslog.tls: a client certificate needs both cert and key'],
  ])('refuses %j at start', (sink, message) => {
    expect(() => createSinks(build({ sinks: [sink] }).sinks, ctx)).toThrow(message);
  });

  it('refuses two sinks with one name (they would share a cursor)', () => {
    expect(() => createSinks(build({ sinks: [{ name: 'a', file: { path: 'x' } }, { name: 'a', file: { path: 'y' } }] }).sinks, ctx)).toThrow(/two sinks are named "a"/);
  });
});
