/** Argument parsing shared by the commands: node:util parseArgs, strict, one clear error line. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatehouseError } from '../domain/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const CLIENT_OPTIONS: Options = {
  server: { type: 'string' },
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  json: { type: 'boolean', default: false },
};

export function parse(args: readonly string[], options: Options, positionals = 0): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    if (r.positionals.length > positionals) throw new GatehouseError('GH_ERR_BAD_INPUT', `unexpected argument ${JSON.stringify(r.positionals[positionals])}`);
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    throw new GatehouseError('GH_ERR_BAD_INPUT', (err as Error).message.split('\n')[0]);
  }
}

export function required(values: Record<string, unknown>, name: string, hint = ''): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new GatehouseError('GH_ERR_BAD_INPUT', `--${name} is required${hint}`);
  return v;
}

export function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function clientOpts(values: Record<string, unknown>): { server: string | undefined; token: string | undefined; tlsCa: string | undefined; tlsCert: string | undefined; tlsKey: string | undefined } {
  return { server: str(values, 'server'), token: str(values, 'token'), tlsCa: str(values, 'tls-ca'), tlsCert: str(values, 'tls-cert'), tlsKey: str(values, 'tls-key') };
}

/** Prints one JSON document (with --json) or the human lines. */
export function output(json: boolean, doc: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${human()}\n`);
}
