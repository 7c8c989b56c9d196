/**
 * Config is parsed once at start, every error reported at once with its path, then frozen
 * (fastify, Immich). This folder is the only reader of process.env.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { GatehouseError } from '../domain/errors.js';
import type { Role, Target, Template, User } from '../domain/types.js';
import { crossCheck, partsThatParse } from './cross-check.js';
import { configSchema, type NotifyConfig, type ParsedConfig, type SinkConfig } from './schema.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly brokerId: string;
  readonly listen: { readonly ssh: HostPort; readonly http: HostPort | undefined; readonly grpc: HostPort };
  readonly dataDir: string;
  readonly store: ({ readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string }) & { readonly failClosedAfterMs: number };
  readonly recordings: { readonly dir: string; readonly mode: 'strict' | 'best-effort'; readonly input: boolean; readonly maxOutputBytes: number; readonly maxExecOutputBytes: number; readonly redact: boolean; readonly gzip: boolean };
  /** The web UI (schema.ts `web`); publicUrl without a trailing slash. */
  readonly web: { readonly publicUrl: string | undefined; readonly sessionTtlMs: number; readonly loginLinkTtlMs: number };
  readonly ssh: { readonly loginGraceTimeMs: number; readonly hostKeys: readonly string[]; readonly ciphers: readonly string[] | undefined };
  readonly grpc: { readonly tls: { readonly cert: string; readonly key: string; readonly ca: string | undefined; readonly requireClientCert: boolean } | undefined };
  readonly users: readonly User[];
  readonly targets: readonly Target[];
  readonly templates: readonly Template[];
  readonly sinks: readonly SinkConfig[];
  /** Incident tickets: the provider (null: any well-formed id), polling, the incident webhook. */
  readonly tickets: TicketsConfig;
  /** People-facing notifications (Slack, webhook); delivered as sinks. */
  readonly notify: readonly NotifyConfig[];
  /** Signed checkpoints of the audit chain; key files absolute (schema.ts `audit`). */
  readonly audit: { readonly checkpointEvery: number; readonly checkpointIntervalMs: number; readonly signingKeyFile: string; readonly trustedKeys: readonly string[] };
  readonly ssm: { readonly endpoint: string | undefined; readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | undefined };
  /** Where the config came from, for logs and `config.loaded` events. */
  readonly source: string;
}

export type TicketProviderConfig =
  | { readonly kind: 'static'; readonly open: readonly string[] }
  | { readonly kind: 'pattern'; readonly pattern: string }
  | { readonly kind: 'http'; readonly url: string; readonly preset: 'pagerduty' | 'jira' | 'generic'; readonly authorization: string | undefined; readonly timeoutMs: number };

export interface TicketsConfig {
  readonly provider: TicketProviderConfig | null;
  /** 0: no polling. */
  readonly pollIntervalMs: number;
  /** Shared secret of `POST /hooks/incident`; undefined: the hook is off. */
  readonly webhookSecret: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads, interpolates, validates. Throws GH_ERR_CONFIG listing every problem, one per line. */
export async function loadConfigFile(path: string, env: Env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new GatehouseError('GH_ERR_CONFIG', `cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
  } catch (err) {
    throw new GatehouseError('GH_ERR_CONFIG', `${path}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return buildConfig(raw, { baseDir: dirname(resolve(path)), env, source: resolve(path) });
}

export interface BuildOptions {
  readonly baseDir: string;
  readonly env?: Env;
  readonly source: string;
}

export function buildConfig(raw: unknown, opts: BuildOptions): Config {
  const problems: string[] = [];
  const interpolated = interpolate(raw, opts.env ?? process.env, [], problems);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) problems.push(...parsed.error.issues.map(formatIssue));
  // Every error at once: when the schema fails, the cross-checks still run over what did parse.
  problems.push(...crossCheck(parsed.success ? parsed.data : partsThatParse(interpolated)));
  if (problems.length > 0 || !parsed.success) {
    throw new GatehouseError('GH_ERR_CONFIG', `invalid config (${opts.source}):\n  ${problems.join('\n  ')}`, { problems });
  }
  return deepFreeze(toConfig(parsed.data, opts));
}

function formatIssue(issue: z.core.$ZodIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** `users[0].name`; the same form for schema issues and for interpolation problems. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** `${NAME}` in any string is replaced from the environment; an unset or empty variable is an error. */
function interpolate(value: unknown, env: Env, path: (string | number)[], problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function toConfig(c: ParsedConfig, opts: BuildOptions): Config {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  const dataDir = abs(c.dataDir);
  const store: Config['store'] =
    c.store === undefined
      ? { kind: 'sqlite', path: resolve(dataDir, 'gatehouse.db'), failClosedAfterMs: 10_000 }
      : 'sqlite' in c.store
        ? { kind: 'sqlite', path: abs(c.store.sqlite), failClosedAfterMs: c.store.failClosedAfter }
        : { kind: 'postgres', url: c.store.postgres, failClosedAfterMs: c.store.failClosedAfter };
  const users: User[] = c.users.map((u) => ({
    name: u.name,
    roles: u.roles as User['roles'],
    keys: u.keys.map((k) => k.trim()),
    groups: u.groups,
    ...(u.apiTokenSha256 !== undefined && { apiTokenSha256: u.apiTokenSha256 }),
    ...(u.totp !== undefined && { totp: u.totp }),
  }));
  const targets: Target[] = c.targets.map((t) => {
    const kind = t.ssh ? 'ssh' : t.ssm ? 'ssm' : 'local';
    return {
      name: t.name,
      kind,
      labels: t.labels,
      owners: t.owners,
      ...(t.ssh && { ssh: { ...t.ssh, privateKeyFile: abs(t.ssh.privateKeyFile) } }),
      ...(t.ssm && { ssm: stripUndefined(t.ssm) as Target['ssm'] & object }),
      ...(t.local && { local: { command: t.local.command, ...(t.local.cwd !== undefined && { cwd: abs(t.local.cwd) }), ...(t.local.env && { env: t.local.env }) } }),
    };
  });
  const templates: Template[] = c.templates.map((t) => ({
    name: t.name,
    approvals: t.approvals,
    maxDurationMs: t.maxDuration,
    targets: t.targets,
    commands: t.commands,
    recording: t.recording ?? c.recordings.mode,
    allowForwarding: t.forwarding,
    shellIntegration: t.shellIntegration,
    inspect: t.inspect,
    reviewTimeoutMs: t.reviewTimeout,
    approvers: t.approvers?.map((a) => ({ count: a.count, ...(a.role !== undefined && { role: a.role as Role }), ...(a.group !== undefined && { group: a.group }) })) ?? (t.approvals > 0 ? [{ count: t.approvals, role: 'approver' as const }] : []),
    mfa: t.mfa,
    sourceNetworks: t.sourceNetworks,
    breakGlass: { allowed: t.breakGlass.allowed, maxDurationMs: t.breakGlass.maxDuration, users: t.breakGlass.users ?? null, targets: t.breakGlass.targets ?? null },
    idleTimeoutMs: t.idleTimeout ?? null,
    maxSessions: t.maxSessions ?? null,
    requestTtlMs: t.requestTtl,
    anomaly: {
      deniedCommands: t.anomaly.deniedCommands && { count: t.anomaly.deniedCommands.count, withinMs: t.anomaly.deniedCommands.within, action: t.anomaly.deniedCommands.action },
      dangerousCommands: t.anomaly.dangerousCommands,
      outputVolume: t.anomaly.outputVolume && outputVolumeOf(t.anomaly.outputVolume),
      newSource: t.anomaly.newSource,
      outsideNetworks: t.anomaly.outsideNetworks,
    },
  }));
  const sinks = c.sinks.map((s) => ('file' in s ? { ...s, file: { ...s.file, path: abs(s.file.path) } } : absTls(s, abs)));
  const tls = c.grpc.tls;
  return {
    brokerId: c.brokerId ?? hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64),
    listen: { ssh: c.listen.ssh, http: c.listen.http, grpc: c.listen.grpc },
    dataDir,
    store,
    recordings: { ...c.recordings, dir: abs(c.recordings.dir) },
    web: { publicUrl: c.web.publicUrl?.replace(/\/+$/, ''), sessionTtlMs: c.web.sessionTtl, loginLinkTtlMs: c.web.loginLinkTtl },
    ssh: { loginGraceTimeMs: c.ssh.loginGraceTime, hostKeys: c.ssh.hostKeys.map(abs), ciphers: c.ssh.ciphers },
    grpc: { tls: tls && { cert: abs(tls.cert), key: abs(tls.key), ca: tls.ca === undefined ? undefined : abs(tls.ca), requireClientCert: tls.requireClientCert } },
    users,
    targets,
    templates,
    sinks,
    tickets: {
      provider: c.tickets.static
        ? { kind: 'static', open: c.tickets.static }
        : c.tickets.pattern !== undefined
          ? { kind: 'pattern', pattern: c.tickets.pattern }
          : c.tickets.http
            ? { kind: 'http', url: c.tickets.http.url.replace('%7Bincident%7D', '{incident}'), preset: c.tickets.http.preset, authorization: c.tickets.http.authorization, timeoutMs: c.tickets.http.timeout }
            : null,
      pollIntervalMs: c.tickets.pollInterval,
      webhookSecret: c.tickets.webhookSecret,
    },
    notify: c.notify,
    audit: {
      checkpointEvery: c.audit.checkpointEvery,
      checkpointIntervalMs: c.audit.checkpointInterval,
      signingKeyFile: c.audit.signingKeyFile === undefined ? resolve(dataDir, 'audit_ed25519.pem') : abs(c.audit.signingKeyFile),
      trustedKeys: c.audit.trustedKeys.map(abs),
    },
    ssm: {
      endpoint: c.ssm.endpoint,
      credentials: c.ssm.credentials && { accessKeyId: c.ssm.credentials.accessKeyId, secretAccessKey: c.ssm.credentials.secretAccessKey, ...(c.ssm.credentials.sessionToken !== undefined && { sessionToken: c.ssm.credentials.sessionToken }) },
    },
    source: opts.source,
  };
}

/** A syslog or http sink with its TLS file paths made absolute. */
function absTls(s: SinkConfig, abs: (p: string) => string): SinkConfig {
  const fix = <T extends { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }>(t: T): T => ({
    ...t,
    ...(t.ca !== undefined && { ca: abs(t.ca) }),
    ...(t.cert !== undefined && { cert: abs(t.cert) }),
    ...(t.key !== undefined && { key: abs(t.key) }),
  });
  if ('syslog' in s && typeof s.syslog.tls === 'object') return { ...s, syslog: { ...s.syslog, tls: fix(s.syslog.tls) } };
  if ('http' in s && s.http.tls !== undefined) return { ...s, http: { ...s.http, tls: fix(s.http.tls) } };
  return s;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The outputVolume detector's settings; the baseline rule only when `factor` is set (defaults: warmup 5m, minBytes 1 MiB). */
type OutputVolume = NonNullable<Template['anomaly']['outputVolume']>;
function outputVolumeOf(v: { bytes: number; within: number; action: OutputVolume['action']; factor?: number | undefined; warmup?: number | undefined; minBytes?: number | undefined }): OutputVolume {
  const base = { bytes: v.bytes, withinMs: v.within, action: v.action };
  return v.factor === undefined ? base : { ...base, baseline: { factor: v.factor, warmupMs: v.warmup ?? 300_000, minBytes: v.minBytes ?? 1024 * 1024 } };
}
