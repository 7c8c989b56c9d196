/**
 * `gatehouse serve` reloads its configuration file on SIGHUP (a real broker process): users take
 * effect at once (a token added works, a token removed stops working), other changed sections are
 * reported as waiting for a restart, an invalid file is refused with its errors and changes
 * nothing, and each reload is a `config.loaded` event.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/cli/client.js';
import { spawnBroker, writeConfig } from '../fixtures/child-broker.js';
import { prepareBroker } from '../fixtures/harness.js';
import { makeToken } from '../fixtures/keys.js';
import { testScope, until } from '../fixtures/scope.js';

const scope = testScope();

interface Line {
  type: string;
  data: Record<string, unknown>;
}

describe('configuration reload (SIGHUP)', () => {
  it('applies users at once, reports other changes, refuses an invalid file, and records each reload', async () => {
    const prep = await prepareBroker(scope);
    const path = await writeConfig(prep);
    const broker = await spawnBroker(scope, path);
    const server = `127.0.0.1:${broker.ports.grpc}`;
    const frank = makeToken();
    const asFrank = connect({ server, token: frank.token });
    scope.defer(() => asFrank.close());
    const whoAmI = (): Promise<Record<string, unknown>> => asFrank.call('whoAmI', {});
    await expect(whoAmI()).rejects.toThrow(/token/i);

    const raw = prep.raw as { users: Record<string, unknown>[]; templates: Record<string, unknown>[] };
    const events = async (): Promise<Line[]> => {
      const text = await readFile(join(prep.dir, 'data/events.jsonl'), 'utf8').catch(() => '');
      // Only whole lines: the file sink may be in the middle of writing the last one.
      return text
        .slice(0, text.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line);
    };
    const reloads = async (): Promise<Line[]> => (await events()).filter((e) => e.type === 'config.loaded' && e.data.reload === true);
    const hup = async (n: number): Promise<Line> => {
      broker.child.kill('SIGHUP');
      return until(async () => (await reloads())[n - 1], 10_000, `reload ${n}`);
    };

    // 1. A new user and a changed template: the user works at once; the template waits for a restart.
    const withFrank = { ...raw, users: [...raw.users, { name: 'frank', roles: ['approver'], keys: [], apiTokenSha256: frank.sha256 }], templates: raw.templates.map((t) => ({ ...t, maxDuration: '1h' })) };
    await writeFile(path, stringify(withFrank));
    const first = await hup(1);
    expect(first.data).toMatchObject({ reload: true, applied: ['users'], restartNeeded: ['templates'] });
    expect(first.data.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await whoAmI()).toMatchObject({ user: 'frank', roles: ['approver'] });
    expect(broker.log()).toContain('these sections changed and take effect at the next restart');

    // 2. An invalid file: refused with every error and its path; nothing changes.
    await writeFile(path, stringify({ ...withFrank, users: [{ name: 'Bad Name!', roles: ['nope'] }], listen: 'nowhere' }));
    broker.child.kill('SIGHUP');
    await until(() => broker.log().includes('configuration reload refused'), 10_000, 'the refusal');
    const refusal = broker.log().split('\n').find((l) => l.includes('configuration reload refused')) ?? '';
    expect(refusal).toMatch(/users\[0\]\.name/);
    expect(refusal).toMatch(/listen/);
    expect(await reloads()).toHaveLength(1);
    expect(await whoAmI()).toMatchObject({ user: 'frank' });

    // 3. The user removed, the template as it was: the token stops working at once, and nothing
    // waits for a restart any more (the running templates are the file's again).
    await writeFile(path, stringify(raw));
    const third = await hup(2);
    expect(third.data).toMatchObject({ applied: ['users'], restartNeeded: [] });
    await expect(whoAmI()).rejects.toThrow(/token/i);
  });
});
