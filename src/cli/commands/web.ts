/** gatehouse web login: a one-time sign-in link to the broker's web UI, for the caller. */
import { GatehouseError } from '../../domain/errors.js';
import { CLIENT_OPTIONS, clientOpts, output, parse } from '../args.js';
import { connect } from '../client.js';

export async function webCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'login') throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown web command ${JSON.stringify(sub ?? '')}: use gatehouse web login`);
  const { values } = parse(rest, CLIENT_OPTIONS);
  const api = connect(clientOpts(values));
  try {
    const r = await api.call('createWebLogin', {});
    output(values.json === true, { url: r.url, expiresAt: r.expiresAt }, () => `Open this link in your browser (it works once, until ${String(r.expiresAt)}):\n\n  ${String(r.url)}\n`);
    return 0;
  } finally {
    api.close();
  }
}
