/** The broker's SSH host keys: configured files, or one ed25519 key generated once in dataDir. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';

import { GatehouseError } from '../domain/errors.js';
import { generateEd25519 } from '../domain/keygen.js';

const { utils } = ssh2;

export async function loadHostKeys(dataDir: string, files: readonly string[]): Promise<Buffer[]> {
  if (files.length > 0) {
    return Promise.all(
      files.map(async (f) => {
        try {
          return await readFile(f);
        } catch (err) {
          throw new GatehouseError('GH_ERR_CONFIG', `ssh.hostKeys: cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        }
      }),
    );
  }
  const path = join(dataDir, 'ssh_host_ed25519_key');
  try {
    return [await readFile(path)];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pair = generateEd25519('gatehouse-host');
  await writeFile(path, pair.private, { mode: 0o600, flag: 'wx' });
  await writeFile(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
  return [Buffer.from(pair.private)];
}

/** The public half of a host key, as an OpenSSH line (for known_hosts and the demo banner). */
export function publicLine(privateKey: Buffer): string {
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) throw new GatehouseError('GH_ERR_CONFIG', 'host key cannot be parsed');
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}
