/** gatehouse sessions list|kill|show */
import { GatehouseError } from '../../domain/errors.js';
import { CLIENT_OPTIONS, clientOpts, output, parse, required, str } from '../args.js';
import { connect } from '../client.js';
import { sessionJson, sessionLine } from '../format.js';
import { watchSession } from './watch.js';

export async function sessionsCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list': {
      const { values } = parse(rest, { ...CLIENT_OPTIONS, live: { type: 'boolean', default: false }, incident: { type: 'string' }, grant: { type: 'string' }, user: { type: 'string' } });
      const api = connect(clientOpts(values));
      try {
        const res = await api.call('listSessions', { live: values.live === true, incident: str(values, 'incident') ?? '', grantId: str(values, 'grant') ?? '', user: str(values, 'user') ?? '' });
        const sessions = (res.sessions as Record<string, unknown>[]) ?? [];
        output(values.json === true, sessions.map(sessionJson), () => (sessions.length === 0 ? 'no sessions' : sessions.map(sessionLine).join('\n')));
        return 0;
      } finally {
        api.close();
      }
    }
    case 'show':
    case 'kill': {
      const opts = sub === 'kill' ? { ...CLIENT_OPTIONS, reason: { type: 'string' as const } } : CLIENT_OPTIONS;
      const { values, positionals } = parse(rest, opts, 1);
      const id = positionals[0];
      if (id === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a session id is required');
      const api = connect(clientOpts(values));
      try {
        const s = sub === 'kill' ? await api.call('killSession', { id, reason: required(values, 'reason') }) : await api.call('getSession', { id });
        output(values.json === true, sessionJson(s), () => (sub === 'kill' ? `killing ${String(s.id)} (${String(s.user)} on ${String(s.target)})` : sessionLine(s)));
        return 0;
      } finally {
        api.close();
      }
    }
    case 'watch': {
      const { values, positionals } = parse(rest, CLIENT_OPTIONS, 1);
      if (positionals[0] === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a session id is required: gatehouse sessions watch ID');
      return watchSession(values, positionals[0]);
    }
    case 'approve-command':
    case 'reject-command': {
      const { values, positionals } = parse(rest, { ...CLIENT_OPTIONS, note: { type: 'string' } }, 1);
      const id = positionals[0];
      if (id === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', 'a session id is required');
      const api = connect(clientOpts(values));
      try {
        const r = await api.call('decideCommand', { sessionId: id, approve: sub === 'approve-command', note: str(values, 'note') ?? '' });
        output(values.json === true, r, () => `${String(r.outcome)}: ${String(r.command)}`);
        return 0;
      } finally {
        api.close();
      }
    }
    default:
      throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown sessions command ${JSON.stringify(sub ?? '')}: use list, show, kill, watch, approve-command, reject-command`);
  }
}
