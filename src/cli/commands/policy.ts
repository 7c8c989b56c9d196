/**
 * gatehouse policy check --config F --template NAME [--json] 'LINE'
 * A dry run of the command policy; needs only the config. Exit 0 allow, 1 deny, 3 review, 2 bad input.
 */
import { loadConfigFile } from '../../config/load.js';
import { GatehouseError } from '../../domain/errors.js';
import { compileRules, evaluate, formatDecision } from '../../policy/index.js';
import { output, parse, required } from '../args.js';

const EXIT = { allow: 0, deny: 1, review: 3 } as const;

export async function policyCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'check') throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown policy command ${JSON.stringify(sub ?? '')}: use check`);
  const { values, positionals } = parse(rest, { config: { type: 'string', short: 'c' }, template: { type: 'string' }, json: { type: 'boolean', default: false } }, 1);
  const line = positionals[0];
  if (line === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', "the command line to check is required, e.g. 'ls -la /var/log'");
  const config = await loadConfigFile(required(values, 'config'));
  const name = required(values, 'template');
  const template = config.templates.find((t) => t.name === name);
  if (template === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', `no template ${JSON.stringify(name)} in ${config.source}`);
  const decision = evaluate(compileRules(template.commands), line);
  output(values.json === true, decision, () => [formatDecision(decision), ...decision.reasons.map((r) => `  ${r.command}: ${r.why}${r.rule ? ` [${r.rule}]` : ''}`)].join('\n'));
  return EXIT[decision.decision];
}
