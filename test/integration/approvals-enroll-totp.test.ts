/**
 * `gatehouse user enroll-totp U`, through the real binary: the otpauth:// URI, the terminal QR code
 * of exactly that URI, the config line, a fresh secret each time, and a secret the broker's config
 * and TOTP check accept. Offline: no broker needed.
 */
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { matchTotp } from '../../src/grants/mfa.js';
import { runCli } from '../fixtures/cli.js';

const gatehouse = (args: string[]) => runCli(args);

const URI = /^ {2}(otpauth:\/\/totp\/Gatehouse:alice\?issuer=Gatehouse&secret=([A-Z2-7]{32})&algorithm=SHA1&digits=6&period=30)$/m;

describe('gatehouse user enroll-totp', () => {
  it('prints the otpauth URI, a terminal QR code of it, and the config line', async () => {
    const r = await gatehouse(['user', 'enroll-totp', 'alice']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const m = URI.exec(r.stdout);
    expect(m).not.toBeNull();
    const [, uri, secret] = m as unknown as [string, string, string];
    const qr = await QRCode.toString(uri, { type: 'terminal', small: true });
    expect(qr.split('\n').length).toBeGreaterThan(10);
    expect(r.stdout).toBe(
      [
        'TOTP for alice. Scan with an authenticator app:',
        '',
        qr,
        `  ${uri}`,
        '',
        'Then add the secret to the user in the broker config and reload the broker (SIGHUP) or restart it:',
        `  - { name: alice, ..., totp: ${secret} }`,
        '',
        'Treat the secret like a password: it is shown once and not stored anywhere by this command.',
        '',
      ].join('\n'),
    );

    // The secret is one the config accepts and the broker's TOTP check verifies.
    const config = buildConfig({ brokerId: 'b', users: [{ name: 'alice', roles: ['responder'], totp: secret }] }, { baseDir: '/tmp', env: {}, source: 't.yaml' });
    const user = config.users[0];
    expect(user?.totp).toBe(secret);
    const now = Date.now();
    const code = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: now });
    expect(matchTotp(user as NonNullable<typeof user>, code, now)).toBe(Math.floor(now / 30_000));
  });

  it('--json gives user, secret and URI; --issuer names the account; every run makes a new secret', async () => {
    const a = await gatehouse(['user', 'enroll-totp', 'bob', '--issuer', 'Acme Ops', '--json']);
    const b = await gatehouse(['user', 'enroll-totp', 'bob', '--json']);
    expect([a.code, b.code]).toEqual([0, 0]);
    const ja = JSON.parse(a.stdout) as { user: string; secret: string; uri: string };
    const jb = JSON.parse(b.stdout) as { user: string; secret: string; uri: string };
    expect(ja).toEqual({ user: 'bob', secret: expect.stringMatching(/^[A-Z2-7]{32}$/) as unknown, uri: `otpauth://totp/Acme%20Ops:bob?issuer=Acme%20Ops&secret=${ja.secret}&algorithm=SHA1&digits=6&period=30` });
    expect(jb.uri).toBe(`otpauth://totp/Gatehouse:bob?issuer=Gatehouse&secret=${jb.secret}&algorithm=SHA1&digits=6&period=30`);
    expect(ja.secret).not.toBe(jb.secret);
  });

  it('refuses a missing or malformed user name with one line on stderr', async () => {
    for (const args of [['user', 'enroll-totp'], ['user', 'enroll-totp', 'Bad Name']]) {
      const r = await gatehouse(args);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', 'gatehouse: a user name is required (as in the config)\n']);
    }
  });
});
