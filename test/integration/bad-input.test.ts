/**
 * Bad input gets a clear refusal, never a crash: malformed user names (also ones OpenSSH itself
 * would never send, through a raw ssh2 client), stalled and garbage connections.
 */
import { readFile } from 'node:fs/promises';
import { connect as tcp } from 'node:net';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { runSsh } from '../fixtures/ssh.js';

const scope = testScope();

/** Tries a raw ssh2 login; resolves with how it ended. */
function rawLogin(h: Harness, username: string, keyPath: string): Promise<'ready' | 'refused' | 'closed'> {
  return readFile(keyPath).then(
    (privateKey) =>
      new Promise((resolve) => {
        const c = new ssh2.Client();
        let settled = false;
        const done = (r: 'ready' | 'refused' | 'closed'): void => {
          if (!settled) {
            settled = true;
            c.end();
            resolve(r);
          }
        };
        c.on('ready', () => done('ready'));
        c.on('error', (err: Error & { level?: string }) => done(err.level === 'client-authentication' ? 'refused' : 'closed'));
        c.on('close', () => done('closed'));
        c.connect({ host: '127.0.0.1', port: h.broker.ports.ssh, username, privateKey, readyTimeout: 5_000, hostVerifier: () => true });
      }),
  );
}

async function stillServes(h: Harness): Promise<void> {
  if ((await h.broker.grants.resolveForSession('alice', 'sandbox')).ok === false) await h.grant({ targets: ['sandbox'] });
  const r = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo alive');
  expect(r.stdout.toString()).toBe('alive\n');
}

describe('malformed user names', () => {
  const names: [string, string][] = [
    ['a:', 'missing target after the separator'],
    [':b', 'missing user before the separator'],
    ['alice', 'user name has no target'],
    ['alice:sandbox:g-1:x', 'too many parts'],
    ['alice:sandbox:not-a-grant', 'malformed grant id'],
    [`alice:${'x'.repeat(4096)}`, 'user name longer than 160 characters'],
    ['\x1b]52;c;ZXZpbA==\x07alice:sandbox', 'user name contains control, space or non-ASCII characters'],
    ['alice\x1b[2J:sandbox', 'user name contains control, space or non-ASCII characters'],
    ['al\uFFFDice:sandbox', 'user name contains control, space or non-ASCII characters'],
    ['alice\uD800:sandbox', 'user name contains control, space or non-ASCII characters'],
    ['alice\0:sandbox', 'user name contains control, space or non-ASCII characters'],
    ['Alice:sandbox', 'malformed user part'],
  ];

  it('refuses each one with a reason in the event, and keeps serving', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    for (const [name, reason] of names) {
      expect(await rawLogin(h, name, h.users.alice?.key.privatePath ?? '')).toBe('refused');
      const refused = await until(async () => (await h.events('session.refused')).find((e) => String(e.data.message).startsWith(reason)));
      expect(refused.data.error).toBe('GH_ERR_BAD_USERNAME');
      // The event never carries raw control bytes from the client.
      // eslint-disable-next-line no-control-regex
      expect(String(refused.data.message)).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
    await stillServes(h);
  });

  it('shows the reason to a keyboard-interactive client (OpenSSH prints it)', async () => {
    const h = await startHarness(scope);
    const r = await runSsh(scope, h.target('alice', 'alice'), 'true', { extra: ['-o', 'BatchMode=no', '-o', 'KbdInteractiveAuthentication=yes', '-o', 'PreferredAuthentications=keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1', '-o', 'LogLevel=INFO'] });
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('Refused: user name has no target: use USER:TARGET (or USER+TARGET). Connect as USER:TARGET');
  });
});

describe('hostile connections', () => {
  it('drops a connection that never authenticates after the login grace time', async () => {
    const h = await startHarness(scope, { extra: { ssh: { loginGraceTime: '800ms' } } });
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const s = tcp(h.broker.ports.ssh, '127.0.0.1');
      s.on('data', () => {}); // read the banner, then say nothing
      s.on('close', () => resolve(Date.now() - started));
      s.on('error', () => {});
    });
    expect(closedAfter).toBeGreaterThanOrEqual(700);
    expect(closedAfter).toBeLessThan(3_000);
    await stillServes(h);
  });

  it('drops a client that stalls in authentication (ident and kex done, no auth)', async () => {
    const h = await startHarness(scope, { extra: { ssh: { loginGraceTime: '800ms' } } });
    const c = new ssh2.Client();
    const ended = new Promise<number>((resolve) => {
      const t0 = Date.now();
      c.on('close', () => resolve(Date.now() - t0));
      c.on('error', () => {});
    });
    // An authHandler that never answers: the client sits in authentication.
    c.connect({ host: '127.0.0.1', port: h.broker.ports.ssh, username: 'alice:sandbox', authHandler: () => undefined as never, hostVerifier: () => true, readyTimeout: 10_000 });
    expect(await ended).toBeLessThan(3_000);
    await stillServes(h);
  });

  it('survives garbage instead of SSH, and closes those connections itself', async () => {
    const h = await startHarness(scope, { extra: { ssh: { loginGraceTime: '800ms' } } });
    const closes = ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'SSH-2.0-x\r\n' + '\xff'.repeat(70_000), '\0'.repeat(10)].map(
      (garbage) =>
        new Promise<number>((resolve) => {
          const t0 = Date.now();
          const s = tcp(h.broker.ports.ssh, '127.0.0.1', () => s.write(Buffer.from(garbage, 'latin1')));
          s.on('data', () => {});
          s.on('close', () => resolve(Date.now() - t0));
          s.on('error', () => {});
        }),
    );
    for (const ms of await Promise.all(closes)) expect(ms).toBeLessThan(3_000);
    await stillServes(h);
  });

  it('rejects a session channel over the per-connection limit at once, and frees the slot when one closes', async () => {
    const h = await startHarness(scope);
    await h.grant({ targets: ['sandbox'] });
    const c = new ssh2.Client();
    scope.defer(() => c.end());
    await new Promise<void>((resolve, reject) => {
      c.once('ready', () => resolve());
      c.once('error', reject);
      void readFile(h.users.alice?.key.privatePath ?? '').then((privateKey) =>
        c.connect({ host: '127.0.0.1', port: h.broker.ports.ssh, username: 'alice:sandbox', privateKey, readyTimeout: 5_000, hostVerifier: () => true }),
      );
    });
    const exec = (command: string): Promise<ssh2.ClientChannel> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to the channel for ${command}`)), 5_000);
        c.exec(command, (err, stream) => {
          clearTimeout(timer);
          if (err) return reject(err);
          stream.stderr.resume(); // a channel emits close only once its streams have ended
          resolve(stream);
        });
      });
    const open: ssh2.ClientChannel[] = [];
    for (let i = 0; i < 10; i++) open.push(await exec('sleep 30'));
    // The eleventh is refused outright (it used to get no answer at all: the client hung).
    await expect(exec('echo eleventh')).rejects.toThrow(/open failure/i);
    const first = open[0] as ssh2.ClientChannel;
    const closed = new Promise((resolve) => first.once('close', resolve));
    first.resume();
    first.close();
    await closed;
    const again = await exec('echo again');
    let out = '';
    again.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((resolve) => again.once('close', resolve));
    expect(out).toBe('again\n');
    const refused = (await h.events('session.refused')).map((e) => [e.data.error, e.data.message]);
    expect(refused).toEqual([['GH_ERR_CHANNEL_REFUSED', 'more than 10 session channels at once on one connection']]);
  });
});
