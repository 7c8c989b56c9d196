/**
 * `templates[].forwarding.local`: exact host:port destinations, validated at the edge and stored in
 * the canonical form the gateway compares against (src/domain/destination.ts), and the pure
 * decision the gateway takes on a client's direct-tcpip request.
 */
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { destinationKey, parseDestination } from '../../src/domain/destination.js';
import { GatehouseError } from '../../src/domain/errors.js';
import type { Target, Template } from '../../src/domain/types.js';
import { forwardRefusal } from '../../src/gateway/forward.js';

function template(local: unknown): Template {
  const c = buildConfig(
    { brokerId: 'b1', targets: [{ name: 'sandbox', local: { command: ['bash'] } }], templates: [{ name: 'diagnose', targets: ['sandbox'], forwarding: { local } }] },
    { baseDir: '/etc/gatehouse', env: {}, source: 'test' },
  );
  return c.templates[0] as Template;
}

function problems(local: unknown): string[] {
  try {
    template(local);
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    return (err as GatehouseError).details?.problems as string[];
  }
  throw new Error('config built, but it should not have');
}

describe('forwarding.local in the config', () => {
  it('defaults to none, next to subsystems', () => {
    const c = buildConfig({ brokerId: 'b1', targets: [{ name: 's', local: { command: ['bash'] } }], templates: [{ name: 't', targets: ['s'] }] }, { baseDir: '/', env: {}, source: 'test' });
    expect(c.templates[0]?.allowForwarding).toEqual({ subsystems: [], local: [] });
  });

  it('stores destinations in canonical form', () => {
    expect(template(['127.0.0.1:5432', 'DB.Internal:5432', '[0:0::1]:22', 'localhost:08080']).allowForwarding.local).toEqual(['127.0.0.1:5432', 'db.internal:5432', '[::1]:22', 'localhost:8080']);
  });

  it.each([
    ['db.internal', 'no port'],
    ['db.internal:0', 'port 0'],
    ['db.internal:65536', 'port out of range'],
    ['::1:22', 'IPv6 without brackets'],
    ['[10.0.0.1]:22', 'IPv4 in brackets'],
    ['[fe80::1%eth0]:22', 'a zone id'],
    ['127.1:22', 'a short-form address'],
    ['db_internal:22', 'an underscore'],
    ['-db:22', 'a leading hyphen'],
    ['*:22', 'a wildcard'],
    ['db.internal:22 ', 'trailing space'],
  ])('refuses %j (%s) with its path', (value) => {
    expect(problems([value])).toEqual([`templates[0].forwarding.local[0]: expected host:port (a host name, an IPv4 address or [IPv6], and a port 1-65535), got ${JSON.stringify(value)}`]);
  });
});

describe('destinations', () => {
  it('a client request and a configured entry meet in the same string', () => {
    expect(destinationKey('::1', 22)).toBe(parseDestination('[::1]:22'));
    expect(destinationKey('DB.internal', 5432)).toBe(parseDestination('db.INTERNAL:5432'));
    expect(destinationKey('127.0.0.1', 0)).toBeNull();
    expect(destinationKey('a\u001b[31m', 22)).toBeNull();
  });
});

describe('forwardRefusal', () => {
  const ssh: Target = { name: 'web-1', kind: 'ssh', labels: {}, owners: [] };
  const local: Target = { name: 'sandbox', kind: 'local', labels: {}, owners: [] };
  const t = template(['127.0.0.1:5432', 'db.internal:5432']);

  it('allows exactly the listed destinations on ssh targets', () => {
    expect(forwardRefusal(t, ssh, '127.0.0.1', 5432)).toBeNull();
    expect(forwardRefusal(t, ssh, 'DB.internal', 5432)).toBeNull();
  });

  it.each([
    ['127.0.0.1', 5433],
    ['localhost', 5432],
    ['10.0.0.1', 5432],
    ['db.internal.', 5432],
  ])('refuses %s:%d, naming it', (host, port) => {
    expect(forwardRefusal(t, ssh, host, port)).toEqual({ code: 'GH_ERR_CHANNEL_REFUSED', message: `port forwarding is not allowed to ${host}:${port} by template diagnose (forwarding.local)` });
  });

  it('prints a hostile destination safely', () => {
    expect(forwardRefusal(t, ssh, 'x\u001b]0;pwned\u0007', 22)?.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('refuses non-ssh targets whatever the list says', () => {
    expect(forwardRefusal(t, local, '127.0.0.1', 5432)).toEqual({ code: 'GH_ERR_CHANNEL_REFUSED', message: 'port forwarding is passed through only to ssh targets, and sandbox is a local target' });
  });

  it('refuses everything when the template lists nothing', () => {
    expect(forwardRefusal(template([]), ssh, '127.0.0.1', 5432)?.code).toBe('GH_ERR_CHANNEL_REFUSED');
  });
});
