/**
 * gatehouse user enroll-totp USER [--issuer NAME] [--json]
 * Makes a new TOTP secret for a user and prints the otpauth:// URI, a QR code for the
 * authenticator app, and the config line to add (users[].totp). Offline: the config is the source
 * of truth for users, so the broker learns the secret when the config is reloaded (SIGHUP; users
 * take effect at once) or the broker restarts.
 */
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { GatehouseError } from '../../domain/errors.js';
import { output, parse } from '../args.js';

export async function userCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'enroll-totp') throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown user command ${JSON.stringify(sub ?? '')}: use enroll-totp`);
  const { values, positionals } = parse(rest, { issuer: { type: 'string' }, json: { type: 'boolean', default: false } }, 1);
  const user = positionals[0];
  if (user === undefined || !/^[a-z_][a-z0-9_.-]{0,31}$/.test(user)) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a user name is required (as in the config)');
  const secret = new Secret({ size: 20 });
  const totp = new TOTP({ issuer: typeof values.issuer === 'string' ? values.issuer : 'Gatehouse', label: user, algorithm: 'SHA1', digits: 6, period: 30, secret });
  const uri = totp.toString();
  const qr = await QRCode.toString(uri, { type: 'terminal', small: true });
  output(values.json === true, { user, secret: secret.base32, uri }, () =>
    [
      `TOTP for ${user}. Scan with an authenticator app:`,
      '',
      qr,
      `  ${uri}`,
      '',
      'Then add the secret to the user in the broker config and reload the broker (SIGHUP) or restart it:',
      `  - { name: ${user}, ..., totp: ${secret.base32} }`,
      '',
      'Treat the secret like a password: it is shown once and not stored anywhere by this command.',
    ].join('\n'),
  );
  return 0;
}
