/** A throwaway PKI from the openssl command: a CA, a server certificate for 127.0.0.1/localhost, a client certificate. */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Scope } from '../../fixtures/resources.js';

const run = promisify(execFile);

export interface Pki {
  readonly dir: string;
  readonly caPath: string;
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
}

export async function makePki(scope: Scope): Promise<Pki> {
  const dir = await scope.tempDir('gh-pki-');
  const p = (f: string): string => join(dir, f);
  const ossl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=gatehouse-test-ca');
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await writeFile(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    await ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'gatehouse-broker'}`);
    await ossl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`);
  }
  return {
    dir,
    caPath: p('ca.pem'),
    ca: await readFile(p('ca.pem')),
    serverCert: await readFile(p('server.pem')),
    serverKey: await readFile(p('server.key')),
    clientCertPath: p('client.pem'),
    clientKeyPath: p('client.key'),
    clientCert: await readFile(p('client.pem')),
    clientKey: await readFile(p('client.key')),
  };
}
