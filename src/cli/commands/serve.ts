/**
 * gatehouse serve --config FILE: the broker, until SIGTERM/SIGINT (graceful: sessions end with
 * reason `shutdown`). SIGHUP reloads FILE: users take effect at once; an invalid file is refused
 * (every error logged) and the broker goes on with the configuration it has.
 */
import { loadConfigFile } from '../../config/load.js';
import { GatehouseError } from '../../domain/errors.js';
import { startBroker, type Broker } from '../../main.js';
import { parse, required } from '../args.js';

export async function serveCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  const path = required(values, 'config', ' (the broker configuration file)');
  const config = await loadConfigFile(path);
  const broker = await startBroker(config);
  const reload = (): void => {
    loadConfigFile(path)
      .then((next) => broker.reload(next))
      .catch((err: unknown) => broker.log.error({ errors: (err as Error).message }, 'configuration reload refused; the broker goes on with the configuration it has'));
  };
  process.on('SIGHUP', reload);
  try {
    return await runUntilSignal(broker);
  } finally {
    process.off('SIGHUP', reload);
  }
}

/** Resolves with the exit code once a signal has shut the broker down. A second signal forces exit. */
export function runUntilSignal(broker: Broker): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`gatehouse: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      broker.log.info({ signal }, 'shutting down');
      broker.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`gatehouse: shutdown failed: ${(err as Error).message}\n`);
          resolve(70);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export function assertConfig(path: string | undefined): string {
  if (path === undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', '--config is required');
  return path;
}
