/**
 * The configuration contract (DESIGN.md "Public contract: Config"), as zod schemas. Every key is
 * documented here with its type, default and meaning; docs/config.md is written from the same text.
 * Unknown keys are errors: a typo in a security setting must not silently fall back to a default.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDestination } from '../domain/destination.js';
import { ROLES } from '../domain/types.js';
import { notifySchema, sinkSchema, ticketsSchema } from './delivery-schema.js';
import { duration, hostPort } from './primitives.js';

export { duration, hostPort } from './primitives.js';

const NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SSH_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

const tlsFiles = z.strictObject({
  /** PEM certificate chain presented by this server. */
  cert: z.string(),
  /** PEM private key for `cert`. */
  key: z.string(),
  /** PEM CA bundle used to verify clients (mutual TLS) when `requireClientCert` is true. */
  ca: z.string().optional(),
  requireClientCert: z.boolean().default(false),
});

export const userSchema = z.strictObject({
  name: z.string().regex(NAME, 'user names are lower case letters, digits, _ . - (max 32), and never contain : or +'),
  roles: z.array(z.enum(ROLES as [string, ...string[]])).min(1),
  /** OpenSSH public keys (authorized_keys lines, without options). */
  keys: z.array(z.string().regex(SSH_KEY, 'expected an OpenSSH public key line such as "ssh-ed25519 AAAA... comment"')).default([]),
  /** Lower-case hex SHA-256 of the user's API token (`printf %s TOKEN | sha256sum`). */
  apiTokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits').optional(),
  /** Base32 TOTP secret (RFC 6238). */
  totp: z.string().regex(/^[A-Z2-7]{16,128}=*$/, 'expected a base32 secret of at least 16 characters').optional(),
  groups: z.array(z.string().min(1)).default([]),
});

const sshTarget = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(22),
  user: z.string().min(1),
  hostKey: z.string().regex(SSH_KEY, 'expected the pinned host public key as an OpenSSH line'),
  privateKeyFile: z.string().min(1),
});

const ssmTarget = z.strictObject({
  instanceId: z.string().regex(/^(i|mi)-[0-9a-f]{8,17}$/, 'expected an instance id such as i-0abc12345678'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as us-east-1'),
  endpoint: z.url().optional(),
  document: z.string().optional(),
  expect: z.strictObject({ platform: z.string().optional(), tags: z.record(z.string(), z.string()).optional() }).optional(),
  kmsKeyId: z.string().optional(),
  parameters: z.record(z.string(), z.array(z.string())).optional(),
});

const localTarget = z.strictObject({
  command: z.array(z.string().min(1)).min(1),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});

export const targetSchema = z
  .strictObject({
    name: z.string().regex(TARGET_NAME, 'target names are letters, digits, _ . - (max 64)'),
    ssh: sshTarget.optional(),
    ssm: ssmTarget.optional(),
    local: localTarget.optional(),
    labels: z.record(z.string(), z.string()).default({}),
    owners: z.array(z.string()).default([]),
  })
  .check((ctx) => {
    const kinds = ['ssh', 'ssm', 'local'].filter((k) => ctx.value[k as 'ssh'] !== undefined);
    if (kinds.length !== 1) ctx.issues.push({ code: 'custom', input: ctx.value, message: 'a target has exactly one of ssh, ssm, local' });
  });

const rules = z.array(z.string().min(1)).default([]);

const action = z.enum(['alert', 'kill', 'revoke']);

const approverSchema = z
  .strictObject({ count: z.number().int().min(1).max(10).default(1), role: z.enum(ROLES as [string, ...string[]]).optional(), group: z.string().min(1).optional() })
  .refine((a) => (a.role === undefined) !== (a.group === undefined), 'an approver requirement names exactly one of role, group');

const cidr = z.string().refine((v) => {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(v);
  if (!m) return false;
  const bits = Number(m[2]);
  return isIP(m[1] as string) === 4 ? bits <= 32 : isIP(m[1] as string) === 6 ? bits <= 128 : false;
}, 'expected a CIDR such as 10.0.0.0/8 or fd00::/8');

export const ANOMALY_DEFAULTS = {
  deniedCommands: { count: 5, within: 60_000, action: 'alert' as const },
  dangerousCommands: { action: 'alert' as const },
  outputVolume: { bytes: 200 * 1024 * 1024, within: 60_000, action: 'alert' as const },
  newSource: { action: 'alert' as const },
  outsideNetworks: { action: 'alert' as const },
};

const anomalySchema = z.strictObject({
  /** N denied commands within T in one session. */
  deniedCommands: z.strictObject({ count: z.number().int().min(1), within: duration, action }).nullable().default(ANOMALY_DEFAULTS.deniedCommands),
  /** Known-dangerous commands even when allowed: disabling history or audit, fetch-and-run, reverse shells. */
  dangerousCommands: z.strictObject({ action }).nullable().default(ANOMALY_DEFAULTS.dangerousCommands),
  /** More than `bytes` of output within `within` (bulk exfiltration). */
  outputVolume: z
    .strictObject({
      bytes: z.number().int().min(1024),
      within: duration,
      action,
      /** Optional baseline rule: more than `factor` × the session's own earlier rate (after `warmup`, at least `minBytes`). */
      factor: z.number().min(2).optional(),
      warmup: duration.optional(),
      minBytes: z.number().int().min(1024).optional(),
    })
    .nullable()
    .default(ANOMALY_DEFAULTS.outputVolume),
  /** A second concurrent session on the grant from a new address. */
  newSource: z.strictObject({ action }).nullable().default(ANOMALY_DEFAULTS.newSource),
  /** A connection from outside `sourceNetworks` (it is refused; the action adds a kill or revoke of the rest). */
  outsideNetworks: z.strictObject({ action }).nullable().default(ANOMALY_DEFAULTS.outsideNetworks),
});

/** A local-forwarding destination, stored in its canonical form (src/domain/destination.ts). */
const forwardDestination = z.string().transform((value, ctx) => {
  const key = parseDestination(value);
  if (key === null) {
    ctx.addIssue({ code: 'custom', message: `expected host:port (a host name, an IPv4 address or [IPv6], and a port 1-65535), got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return key;
});

export const templateSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  /** Distinct approvers needed; never the requester. 0 only makes sense for sandboxes. */
  approvals: z.number().int().min(0).max(10).default(1),
  /** Longest grant duration. */
  maxDuration: duration.default(3_600_000),
  /** Target names (globs: `web-*`) or label selectors (`env=prod`). */
  targets: z.array(z.string().min(1)).min(1),
  /** Command rules (DESIGN.md "Command rules"); what no rule allows is denied. */
  commands: z.strictObject({ allow: rules, deny: rules, review: rules }).default({ allow: [], deny: [], review: [] }),
  /** strict: a session that cannot be recorded is ended. Default: recordings.mode. */
  recording: z.enum(['strict', 'best-effort']).optional(),
  /**
   * SSH features beyond shell and exec, for ssh targets only. `subsystems` lists subsystems (e.g.
   * sftp) passed through. `local` lists the exact `host:port` destinations (host name, IPv4, or
   * [IPv6]; as the target sees them) a client may reach with local port forwarding (`ssh -L`);
   * default none. Agent, X11 and remote (-R) forwarding are always refused by the broker (README).
   */
  forwarding: z
    .strictObject({ subsystems: z.array(z.string().regex(/^[a-z][a-z0-9@._-]{0,63}$/)).default([]), local: z.array(forwardDestination).max(256).default([]) })
    .default({ subsystems: [], local: [] }),
  /** Install OSC 133 shell integration in bash/zsh at session start. */
  shellIntegration: z.boolean().default(false),
  /** Inspect interactive input (hold Enter, judge the line). Turning it off still records. */
  inspect: z.boolean().default(true),
  /** How long a command held for review waits for a watcher before it is denied. */
  reviewTimeout: duration.default(300_000),
  /**
   * Who must approve, as distinct people: `[{ count: 1, role: approver }, { count: 1, group: security }]`.
   * Overrides `approvals` (which means `[{ count: N, role: approver }]`). One person fills one slot.
   */
  approvers: z.array(approverSchema).min(1).optional(),
  /** TOTP at approval (`--totp`) and/or at session start (keyboard-interactive). */
  mfa: z.strictObject({ approve: z.boolean().default(false), session: z.boolean().default(false) }).default({ approve: false, session: false }),
  /** CIDRs the responder may connect from (IPv4/IPv6); empty = anywhere. */
  sourceNetworks: z.array(cidr).default([]),
  /** Break-glass: active at once without approval, capped short, loud, reviewed afterwards. */
  breakGlass: z
    .strictObject({
      allowed: z.boolean().default(false),
      maxDuration: duration.default(900_000),
      /** Users who may break glass under this template (default: any responder). */
      users: z.array(z.string()).optional(),
      /** Targets (names or globs) break-glass may reach (default: the template's targets). */
      targets: z.array(z.string()).optional(),
    })
    .default({ allowed: false, maxDuration: 900_000 }),
  /** A session with no input and no output this long is ended (reason idle). */
  idleTimeout: duration.optional(),
  /** Most concurrent sessions per grant. */
  maxSessions: z.number().int().min(1).max(1000).optional(),
  /** A pending request not approved within this long expires (and cannot be revived). */
  requestTtl: duration.default(86_400_000),
  /** Anomaly detectors; each fires `anomaly.detected` and then alerts, kills the session, or revokes the grant. */
  anomaly: anomalySchema.default(ANOMALY_DEFAULTS),
});

export const configSchema = z.strictObject({
  /** Stable id of this broker in events; default the host name. */
  brokerId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  listen: z
    .strictObject({ ssh: hostPort.default({ host: '127.0.0.1', port: 2222 }), http: hostPort.optional(), grpc: hostPort.default({ host: '127.0.0.1', port: 9090 }) })
    .default({ ssh: { host: '127.0.0.1', port: 2222 }, grpc: { host: '127.0.0.1', port: 9090 } }),
  /** Host key, audit signing key and (by default) the SQLite file live here. */
  dataDir: z.string().default('data'),
  /**
   * Where grants, sessions and the audit chain live: `{ sqlite: FILE }` (one broker) or
   * `{ postgres: URL }` (several brokers). `failClosedAfter`: when the store has been unreachable
   * this long, the broker ends its live sessions (reason `store-lost`) rather than run unaudited.
   */
  store: z
    .union([
      z.strictObject({ sqlite: z.string(), failClosedAfter: duration.default(10_000) }),
      z.strictObject({ postgres: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'), failClosedAfter: duration.default(10_000) }),
    ])
    .optional(),
  recordings: z
    .strictObject({
      dir: z.string().default('recordings'),
      /** strict: a session that cannot be recorded is ended. */
      mode: z.enum(['strict', 'best-effort']).default('strict'),
      /** Record keystrokes (`i` events). Input at password prompts is never recorded. */
      input: z.boolean().default(true),
      /**
       * Output bytes recorded per interactive session; past it a marker notes the cut, and the
       * closing marker carries the count and SHA-256 of everything not recorded.
       */
      maxOutputBytes: z.number().int().min(1_024).default(64 * 1024 * 1024),
      /**
       * The same bound for exec sessions (`ssh host 'cmd'`), whose output is usually data for a
       * program (`cat`, `tar`, dumps) rather than a screen someone read: the first 4 MiB are kept
       * verbatim, the rest is accounted for by count and SHA-256. Keeps bulk transfers near line rate.
       */
      maxExecOutputBytes: z.number().int().min(1_024).default(4 * 1024 * 1024),
      /**
       * Mask secrets (AWS key ids, private key blocks, password=/token= values, bearer tokens) in
       * recordings and the live view; never in what the responder sees. docs/recordings.md.
       */
      redact: z.boolean().default(true),
      /** Compress each recording to `.cast.gz` when its session ends (hashes are of the .gz file). */
      gzip: z.boolean().default(false),
    })
    .default({ dir: 'recordings', mode: 'strict', input: true, maxOutputBytes: 64 * 1024 * 1024, maxExecOutputBytes: 4 * 1024 * 1024, redact: true, gzip: false }),
  /**
   * The web UI on listen.http (docs/web.md). `publicUrl`: the address users open (behind a TLS
   * proxy: https://...; Secure cookies then); default http://<listen.http>. `sessionTtl`: how long
   * a sign-in lasts. `loginLinkTtl`: how long a `gatehouse web login` link can be used (once).
   */
  web: z
    .strictObject({
      publicUrl: z.url({ protocol: /^https?$/ }).optional(),
      sessionTtl: duration.default(12 * 3_600_000),
      loginLinkTtl: duration.default(120_000),
    })
    .default({ sessionTtl: 12 * 3_600_000, loginLinkTtl: 120_000 }),
  ssh: z
    .strictObject({
      /** Unauthenticated connections are dropped after this long. */
      loginGraceTime: duration.default(30_000),
      /** Extra host key files (PEM/OpenSSH); default one ed25519 key generated in dataDir. */
      hostKeys: z.array(z.string()).default([]),
      /** Ciphers offered to clients; default AES-GCM only (see gateway/server.ts). */
      ciphers: z.array(z.enum(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'])).min(1).optional(),
    })
    .default({ loginGraceTime: 30_000, hostKeys: [] }),
  grpc: z.strictObject({ tls: tlsFiles.optional() }).default({}),
  /**
   * AWS Systems Manager: `endpoint` overrides the SSM API endpoint for every ssm target without
   * its own (VPC endpoint, the simulator). Credentials come from the AWS SDK's default chain
   * (environment, shared config, instance role) unless `credentials` is set — for labs only.
   */
  ssm: z
    .strictObject({
      endpoint: z.url().optional(),
      credentials: z.strictObject({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() }).optional(),
    })
    .default({}),
  users: z.array(userSchema).default([]),
  targets: z.array(targetSchema).default([]),
  templates: z.array(templateSchema).default([]),
  sinks: z.array(sinkSchema).default([]),
  tickets: ticketsSchema.default({ pollInterval: 60_000 }),
  notify: z.array(notifySchema).default([]),
  /**
   * The audit chain's signed checkpoints (docs/siem.md "Audit chain"): one every `checkpointEvery`
   * events, every `checkpointInterval` when anything happened, and at shutdown. `signingKeyFile`:
   * Ed25519 PKCS#8 PEM, default dataDir/audit_ed25519.pem, generated (0600) when missing; give each
   * broker its own. `trustedKeys`: public key PEM files of the other brokers sharing the store, so
   * online verification accepts their checkpoints.
   */
  audit: z
    .strictObject({
      checkpointEvery: z.number().int().min(1).default(1_000),
      checkpointInterval: duration.default(300_000),
      signingKeyFile: z.string().optional(),
      trustedKeys: z.array(z.string()).default([]),
    })
    .default({ checkpointEvery: 1_000, checkpointInterval: 300_000, trustedKeys: [] }),
});

export type RawConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type SinkConfig = z.output<typeof sinkSchema>;
export type NotifyConfig = z.output<typeof notifySchema>;
