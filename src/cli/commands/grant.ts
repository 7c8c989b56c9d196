/** gatehouse grant request|approve|deny|revoke|list */
import { GatehouseError } from '../../domain/errors.js';
import { CLIENT_OPTIONS, clientOpts, output, parse, required, str } from '../args.js';
import { connect } from '../client.js';
import { grantJson, grantLine } from '../format.js';

export async function grantCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'request': {
      const { values } = parse(rest, { ...CLIENT_OPTIONS, user: { type: 'string' }, target: { type: 'string' }, incident: { type: 'string' }, duration: { type: 'string' }, reason: { type: 'string' }, template: { type: 'string' }, 'break-glass': { type: 'boolean', default: false } });
      const req = {
        user: required(values, 'user'),
        targets: required(values, 'target').split(',').map((t) => t.trim()).filter(Boolean),
        incident: required(values, 'incident', ': every grant is tied to an incident ticket'),
        duration: required(values, 'duration', ' (e.g. 30m)'),
        reason: required(values, 'reason'),
        template: str(values, 'template') ?? '',
        breakGlass: values['break-glass'] === true,
      };
      return one(values, 'requestGrant', req);
    }
    case 'approve': {
      const { values, positionals } = parse(rest, { ...CLIENT_OPTIONS, totp: { type: 'string' } }, 1);
      return one(values, 'approveGrant', { id: id(positionals), totp: str(values, 'totp') ?? '' });
    }
    case 'deny':
    case 'revoke': {
      const { values, positionals } = parse(rest, { ...CLIENT_OPTIONS, reason: { type: 'string' } }, 1);
      return one(values, sub === 'deny' ? 'denyGrant' : 'revokeGrant', { id: id(positionals), reason: required(values, 'reason') });
    }
    case 'update': {
      const { values, positionals } = parse(rest, { ...CLIENT_OPTIONS, target: { type: 'string' }, duration: { type: 'string' }, reason: { type: 'string' } }, 1);
      const targets = str(values, 'target')?.split(',').map((t) => t.trim()).filter(Boolean) ?? [];
      if (targets.length === 0 && values.duration === undefined && values.reason === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'nothing to change: pass --target, --duration or --reason');
      return one(values, 'updateGrant', { id: id(positionals), targets, duration: str(values, 'duration') ?? '', reason: str(values, 'reason') ?? '' });
    }
    case 'review': {
      const { values, positionals } = parse(rest, { ...CLIENT_OPTIONS, notes: { type: 'string' } }, 1);
      return one(values, 'reviewGrant', { id: id(positionals), notes: required(values, 'notes') });
    }
    case 'show': {
      const { values, positionals } = parse(rest, CLIENT_OPTIONS, 1);
      return one(values, 'getGrant', { id: id(positionals) });
    }
    case 'list': {
      const { values } = parse(rest, { ...CLIENT_OPTIONS, active: { type: 'boolean', default: false }, incident: { type: 'string' }, user: { type: 'string' } });
      const api = connect(clientOpts(values));
      try {
        const res = await api.call('listGrants', { active: values.active === true, incident: str(values, 'incident') ?? '', user: str(values, 'user') ?? '' });
        const grants = (res.grants as Record<string, unknown>[]) ?? [];
        output(values.json === true, grants.map(grantJson), () => (grants.length === 0 ? 'no grants' : grants.map(grantLine).join('\n')));
        return 0;
      } finally {
        api.close();
      }
    }
    default:
      throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown grant command ${JSON.stringify(sub ?? '')}: use request, approve, deny, revoke, update, review, list, show`);
  }
}

function id(positionals: string[]): string {
  const v = positionals[0];
  if (v === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a grant id is required');
  return v;
}

async function one(values: Record<string, unknown>, method: string, req: Record<string, unknown>): Promise<number> {
  const api = connect(clientOpts(values));
  try {
    const g = await api.call(method, req);
    output(values.json === true, grantJson(g), () => grantLine(g));
    return 0;
  } finally {
    api.close();
  }
}
