/**
 * gRPC over TLS between the CLI and the broker, with a client certificate where the broker asks
 * for one: the real `gatehouse` binary against a broker whose listener requires mutual TLS.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.js';
import { startHarness } from '../fixtures/harness.js';
import { fileScope } from '../fixtures/scope.js';
import { makePki } from '../unit/siem/certs.js';

const files = fileScope();

const cli = runCli;

describe('gRPC over TLS', () => {
  it('needs the broker CA, and the client certificate when the broker requires one', async () => {
    const pki = await makePki(files);
    const p = (f: string): string => join(pki.dir, f);
    await writeFile(p('server.pem'), pki.serverCert);
    await writeFile(p('server.key'), pki.serverKey);
    const h = await startHarness(files, { extra: { grpc: { tls: { cert: p('server.pem'), key: p('server.key'), ca: pki.caPath, requireClientCert: true } } } });
    const g = await h.grant({ targets: ['sandbox'] });
    const base = { GATEHOUSE_SERVER: `localhost:${h.broker.ports.grpc}`, GATEHOUSE_TOKEN: h.users.bob?.token ?? '' };
    const list = ['grant', 'list', '--json'];

    const ok = await cli([...list, '--tls-ca', pki.caPath, '--tls-cert', pki.clientCertPath, '--tls-key', pki.clientKeyPath], base);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as { id: string }[]).map((x) => x.id)).toEqual([g.id]);
    // The same from the environment.
    const viaEnv = await cli(list, { ...base, GATEHOUSE_TLS_CA: pki.caPath, GATEHOUSE_TLS_CERT: pki.clientCertPath, GATEHOUSE_TLS_KEY: pki.clientKeyPath });
    expect(viaEnv.code).toBe(0);

    // Plain text to a TLS listener, TLS without the client certificate, a CA that did not sign the broker.
    const plain = await cli(list, base);
    expect([plain.code, plain.stdout]).toEqual([4, '']);
    expect(plain.stderr).toMatch(/^gatehouse: cannot reach the broker at localhost:\d+: .+\n$/);
    const noCert = await cli([...list, '--tls-ca', pki.caPath], base);
    expect([noCert.code, noCert.stdout]).toEqual([4, '']);
    const other = await makePki(files);
    const wrongCa = await cli([...list, '--tls-ca', other.caPath, '--tls-cert', pki.clientCertPath, '--tls-key', pki.clientKeyPath], base);
    expect([wrongCa.code, wrongCa.stdout]).toEqual([4, '']);

    // Half a client certificate is bad input, said before any connection.
    const half = await cli([...list, '--tls-ca', pki.caPath, '--tls-cert', pki.clientCertPath], base);
    expect([half.code, half.stderr]).toEqual([2, 'gatehouse: a client certificate needs both --tls-cert and --tls-key\n']);
  });
});
