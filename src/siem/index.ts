/** Builds the configured sinks. One file per sink kind; this is the only place that knows them all. */
import type { SinkConfig } from '../config/schema.js';
import { GatehouseError } from '../domain/errors.js';
import { FileSink } from './file.js';
import { eventFilter } from './filter.js';
import type { Sink } from './types.js';

export function createSinks(configs: readonly SinkConfig[]): Sink[] {
  return configs.map((c, i) => {
    if ('file' in c) return new FileSink(c.name ?? `file-${i}`, c.file.path, eventFilter(c.file.types, c.file.minSeverity));
    const kind = Object.keys(c).find((k) => k !== 'name') ?? 'unknown';
    throw new GatehouseError('GH_ERR_CONFIG', `sinks[${i}]: the ${kind} sink is not available in this build`);
  });
}
