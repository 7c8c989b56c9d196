/**
 * gatehouse audit verify|export|pubkey
 *
 *   verify                                 ask the broker to verify its store (gRPC VerifyAudit)
 *   verify --config F                      open the configured store directly (the broker may be down)
 *   verify --from FILE --public-key PEM    verify an export (or a file sink's JSONL) offline
 *     [--anchor JSON|FILE] a checkpoint the SIEM holds: detects a truncated or rewritten tail
 *     [--recordings DIR]   re-hash recording files (offline; online the broker's directory is used)
 *     [--from-seq N]       the file starts at seq N (default 1: a missing first event is a gap)
 *   export [--from-seq N] [--out FILE]     JSONL of the stored events from seq N (default 1)
 *   pubkey [--config F]                    the checkpoint signing public key (PEM)
 *
 * Exit codes: 0 verified; 1 verification failed (the first broken seq and its kind on stderr);
 * 2 bad input (unreadable file, bad key or anchor); 4 broker or store unreachable.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { loadConfigFile, type Config } from '../../config/load.js';
import { GatehouseError } from '../../domain/errors.js';
import { storedEvents, verifyStore } from '../../events/audit-store.js';
import { checkpointHintName } from '../../events/checkpoint.js';
import { encodePublicKey, keyIdOf, loadTrustedKeys, parsePublicKeys, publicKeyPath } from '../../events/signing-key.js';
import { eventLine, parseAnchor, readJsonl, type BadLine } from '../../events/export.js';
import type { AuditEvent } from '../../events/types.js';
import { anchorProblem, ChainVerifier, type VerifyReport } from '../../events/verify.js';
import { failureLine, summaryLine, verifyRecordings } from '../../events/verify-report.js';
import { openStore } from '../../main.js';
import { hashFile } from '../../recording/writer.js';
import { sinkCursorKey, sinkName } from '../../siem/index.js';
import type { Store } from '../../store/ports.js';
import { CLIENT_OPTIONS, clientOpts, output, parse, str } from '../args.js';
import { connect, fromGrpcError, type ApiClient } from '../client.js';

const VERIFY_OPTIONS = {
  ...CLIENT_OPTIONS,
  config: { type: 'string', short: 'c' },
  from: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  anchor: { type: 'string' },
  recordings: { type: 'string' },
  'from-seq': { type: 'string' },
  'skip-recordings': { type: 'boolean', default: false },
} as const;

export async function auditCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'verify':
      return verify(rest);
    case 'export':
      return exportEvents(rest);
    case 'pubkey':
      return pubkey(rest);
    default:
      throw new GatehouseError('GH_ERR_BAD_INPUT', `unknown audit command ${JSON.stringify(sub ?? '')}: use verify, export, pubkey`);
  }
}

function fromSeq(values: Record<string, unknown>): number {
  const v = str(values, 'from-seq') ?? '1';
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new GatehouseError('GH_ERR_BAD_INPUT', `--from-seq: expected a sequence number ≥ 1, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new GatehouseError('GH_ERR_BAD_INPUT', `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function keysFrom(paths: readonly string[]): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  for (const p of paths) {
    try {
      keys.push(...parsePublicKeys(await readText(p, '--public-key')));
    } catch (err) {
      if (err instanceof GatehouseError) throw err;
      throw new GatehouseError('GH_ERR_BAD_INPUT', `--public-key ${p}: ${(err as Error).message}`);
    }
  }
  return keys;
}

/** `--anchor`: inline JSON, or a file holding the checkpoint (or the SIEM's JSONL: its last checkpoint). */
async function anchorFrom(arg: string | undefined): Promise<AuditEvent | undefined> {
  if (arg === undefined) return undefined;
  const text = arg.trim().startsWith('{') ? arg : await readText(arg, '--anchor');
  return parseAnchor(text);
}

function checkAnchor(anchor: AuditEvent | undefined, keys: readonly KeyObject[]): void {
  if (anchor === undefined) return;
  const problem = anchorProblem(anchor, keys);
  if (problem !== null) throw new GatehouseError('GH_ERR_BAD_INPUT', `--anchor is not a valid checkpoint: ${problem}`);
}

function report(json: boolean, r: VerifyReport): number {
  const line = failureLine(r);
  if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else if (line === null) process.stdout.write(`${summaryLine(r)}\n`);
  if (line !== null) {
    process.stderr.write(`gatehouse: ${line}\n`);
    return 1;
  }
  return 0;
}

async function verify(args: readonly string[]): Promise<number> {
  const { values } = parse(args, VERIFY_OPTIONS);
  const json = values.json === true;
  const keyFiles = (values['public-key'] as unknown as string[] | undefined) ?? [];
  const from = str(values, 'from');
  const configPath = str(values, 'config');
  if (from !== undefined) {
    if (keyFiles.length === 0) throw new GatehouseError('GH_ERR_BAD_INPUT', '--from needs --public-key FILE: the key that checkpoints must be signed with');
    const keys = await keysFrom(keyFiles);
    const anchor = await anchorFrom(str(values, 'anchor'));
    checkAnchor(anchor, keys);
    const v = new ChainVerifier({ trustedKeys: keys, from: fromSeq(values), ...(anchor && { anchor }) });
    for await (const item of readJsonl(from)) {
      const bad = item as Partial<BadLine>;
      if (typeof bad.badLine === 'number') {
        v.reject(`line ${bad.badLine} of ${from} is not JSON`);
        break;
      }
      if (!v.push(item)) break;
    }
    let r = v.finish();
    const dir = str(values, 'recordings');
    if (dir !== undefined) r = await verifyRecordings(r, v.recordingClaims, dir, hashFile);
    return report(json, r);
  }
  if (configPath !== undefined) {
    const config = await loadConfigFile(configPath);
    const own = (await brokerKeys(config))[0] as KeyObject;
    const keys = [own, ...(await loadTrustedKeys(config.audit.trustedKeys)), ...(await keysFrom(keyFiles))];
    const anchor = await anchorFrom(str(values, 'anchor'));
    checkAnchor(anchor, keys);
    const store = await openConfiguredStore(config);
    try {
      const r = await verifyStore(store, {
        trustedKeys: keys,
        anchor,
        cursorNames: [...config.sinks.map((c, i) => sinkCursorKey(config.store.kind, config.brokerId, sinkName(c, i))), checkpointHintName(keyIdOf(encodePublicKey(own)))],
        recordings: values['skip-recordings'] === true ? undefined : { dir: str(values, 'recordings') ?? config.recordings.dir, hashFile },
      });
      return report(json, r);
    } finally {
      await store.close();
    }
  }
  if (keyFiles.length > 0 || str(values, 'recordings') !== undefined) throw new GatehouseError('GH_ERR_BAD_INPUT', '--public-key and --recordings apply to --from (offline) or --config; the broker uses its own');
  const anchor = await anchorFrom(str(values, 'anchor'));
  const api = connect(clientOpts(values));
  try {
    const res = await unary(api, 'verifyAudit', { anchorJson: anchor ? JSON.stringify(anchor) : '', skipRecordings: values['skip-recordings'] === true }, 600_000);
    return report(json, JSON.parse(String(res.json)) as VerifyReport);
  } finally {
    api.close();
  }
}

/** The broker's own checkpoint key, from the .pub.pem next to the configured signing key. */
async function brokerKeys(config: Config): Promise<KeyObject[]> {
  const path = publicKeyPath(config.audit.signingKeyFile);
  return parsePublicKeys(await readText(path, 'the broker public key'));
}

async function openConfiguredStore(config: Config): Promise<Store> {
  const store = await openStore(config, pino({ level: 'silent' }));
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}

async function exportEvents(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...CLIENT_OPTIONS, config: { type: 'string', short: 'c' }, 'from-seq': { type: 'string' }, out: { type: 'string' } });
  const after = fromSeq(values) - 1;
  const outPath = str(values, 'out');
  const out = outPath === undefined ? process.stdout : createWriteStream(outPath, { mode: 0o640 });
  const write = (line: string): Promise<void> | void => {
    if (!out.write(line)) return new Promise((r) => out.once('drain', () => r()));
  };
  let count = 0;
  const configPath = str(values, 'config');
  if (configPath !== undefined) {
    const store = await openConfiguredStore(await loadConfigFile(configPath));
    try {
      const head = await store.eventHead();
      for await (const e of storedEvents(store, after, head.seq)) {
        await write(eventLine(e));
        count++;
      }
    } finally {
      await store.close();
    }
  } else {
    const api = connect(clientOpts(values));
    try {
      count = await stream(api, 'exportEvents', { fromSequence: after }, (r) => write(`${String(r.json)}\n`));
    } finally {
      api.close();
    }
  }
  if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (outPath !== undefined) process.stderr.write(`exported ${count} event${count === 1 ? '' : 's'} to ${outPath}\n`);
  return 0;
}

async function pubkey(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...CLIENT_OPTIONS, config: { type: 'string', short: 'c' } });
  let pem: string;
  const configPath = str(values, 'config');
  if (configPath !== undefined) {
    pem = await readText(publicKeyPath((await loadConfigFile(configPath)).audit.signingKeyFile), 'the broker public key');
  } else {
    const api = connect(clientOpts(values));
    try {
      pem = String((await api.call('getAuditKey', {})).publicKeyPem);
    } finally {
      api.close();
    }
  }
  const key = parsePublicKeys(pem)[0] as KeyObject;
  const keyId = keyIdOf(encodePublicKey(key));
  output(values.json === true, { publicKeyPem: pem, keyId }, () => `${pem.trim()}\n# ${keyId}`);
  return 0;
}

type Raw = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A unary call with its own deadline (verification of a long chain takes longer than the default 30 s). */
export function unary(api: ApiClient, method: string, request: Record<string, unknown>, deadlineMs: number): Promise<Record<string, unknown>> {
  const raw = api.raw as Raw;
  return new Promise((resolve, reject) => {
    (raw[method] as (...a: unknown[]) => unknown).call(raw, request, api.metadata, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
      err ? reject(fromGrpcError(err, raw.getChannel().getTarget())) : resolve(res),
    );
  });
}

/** Reads a server stream to its end, awaiting `onRecord` for each message (backpressure). Resolves with the count. */
export function stream(api: ApiClient, method: string, request: Record<string, unknown>, onRecord: (r: Record<string, unknown>) => Promise<void> | void): Promise<number> {
  const raw = api.raw as Raw;
  const call = (raw[method] as (...a: unknown[]) => grpc.ClientReadableStream<Record<string, unknown>>).call(raw, request, api.metadata);
  let count = 0;
  let failed = false;
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      call.cancel();
      reject(err);
    };
    let chain = Promise.resolve();
    call.on('data', (r: Record<string, unknown>) => {
      if (failed) return;
      count++;
      let p: Promise<void> | void;
      try {
        p = onRecord(r);
      } catch (err) {
        return fail(err);
      }
      if (p) {
        call.pause();
        chain = chain.then(() => p).then(() => void call.resume(), fail);
      }
    });
    call.on('error', (err: grpc.ServiceError) => fail(fromGrpcError(err, raw.getChannel().getTarget())));
    call.on('end', () => void chain.then(() => !failed && resolve(count)));
  });
}
