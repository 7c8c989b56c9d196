/** gatehouse serve --config FILE: the broker, until SIGTERM/SIGINT (graceful: sessions end with reason `shutdown`). */
import { loadConfigFile } from '../../config/load.js';
import { GatehouseError } from '../../domain/errors.js';
import { startBroker, type Broker } from '../../main.js';
import { parse, required } from '../args.js';

export async function serveCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' } });
  const config = await loadConfigFile(required(values, 'config', ' (the broker configuration file)'));
  const broker = await startBroker(config);
  return runUntilSignal(broker);
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
