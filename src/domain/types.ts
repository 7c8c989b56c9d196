/**
 * The vocabulary every layer shares (DESIGN.md "Vocabulary"). Plain data, no behaviour, no I/O.
 * Times are epoch milliseconds inside the broker and ISO 8601 strings at the edges.
 */

export type Role = 'responder' | 'approver' | 'watcher' | 'auditor' | 'admin';
export const ROLES: readonly Role[] = ['responder', 'approver', 'watcher', 'auditor', 'admin'];

export interface User {
  readonly name: string;
  readonly roles: readonly Role[];
  /** OpenSSH public key lines ("ssh-ed25519 AAAA... comment"). */
  readonly keys: readonly string[];
  /** Lower-case hex SHA-256 of the user's API token; the token itself is never stored. */
  readonly apiTokenSha256?: string;
  /** Base32 TOTP secret (RFC 6238), where MFA applies. */
  readonly totp?: string;
  readonly groups: readonly string[];
}

export interface SshTargetSpec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Pinned host key, OpenSSH public key format. A mismatch refuses the connection. */
  readonly hostKey: string;
  readonly privateKeyFile: string;
}

export interface SsmTargetSpec {
  readonly instanceId: string;
  readonly region: string;
  /** Overrides the SSM API endpoint (simulator, VPC endpoint). */
  readonly endpoint?: string;
  /** SSM document; default SSM-SessionManagerRunShell. */
  readonly document?: string;
  /** Expected instance facts, checked with DescribeInstanceInformation before connecting. */
  readonly expect?: { readonly platform?: string; readonly tags?: Readonly<Record<string, string>> };
  /** KMS key id for the encryption handshake, when the account's preferences set one. */
  readonly kmsKeyId?: string;
  /** Document parameters (e.g. a fixed `command` for AWS-StartInteractiveCommand). */
  readonly parameters?: Readonly<Record<string, readonly string[]>>;
}

export interface LocalTargetSpec {
  /** argv of the program run in a PTY on the broker host. */
  readonly command: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type TargetKind = 'ssh' | 'ssm' | 'local';

export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly labels: Readonly<Record<string, string>>;
  readonly ssh?: SshTargetSpec;
  readonly ssm?: SsmTargetSpec;
  readonly local?: LocalTargetSpec;
  /** Users told about sessions on this target (notifications). */
  readonly owners: readonly string[];
}

export interface CommandRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  readonly review: readonly string[];
}

export type RecordingMode = 'strict' | 'best-effort';

export interface Template {
  readonly name: string;
  /** Distinct approvers needed (the simple form). */
  readonly approvals: number;
  /** Longest duration, ms. */
  readonly maxDurationMs: number;
  /** Target names (globs) or label selectors `key=value`. */
  readonly targets: readonly string[];
  readonly commands: CommandRules;
  readonly recording: RecordingMode;
  /**
   * SSH features beyond shell and exec, ssh targets only. `subsystems`: subsystems (sftp, ...)
   * passed through. `local`: destinations (`host:port`, canonical: see domain/destination.ts) a
   * client may reach with local port forwarding (`ssh -L`). Agent, X11 and remote (-R) forwarding
   * are always refused.
   */
  readonly allowForwarding: { readonly subsystems: readonly string[]; readonly local: readonly string[] };
  readonly shellIntegration: boolean;
  readonly inspect: boolean;
  /** A command held for review is denied after this long without a watcher's decision. */
  readonly reviewTimeoutMs: number;
  /** Distinct people needed, by role or group (`approvals: N` becomes N × role approver). */
  readonly approvers: readonly ApproverRequirement[];
  readonly mfa: { readonly approve: boolean; readonly session: boolean };
  /** CIDRs responders may connect from; empty means anywhere. */
  readonly sourceNetworks: readonly string[];
  readonly breakGlass: { readonly allowed: boolean; readonly maxDurationMs: number; readonly users: readonly string[] | null; readonly targets: readonly string[] | null };
  readonly idleTimeoutMs: number | null;
  readonly maxSessions: number | null;
  readonly requestTtlMs: number;
  readonly anomaly: AnomalyConfig;
}

export interface ApproverRequirement {
  readonly count: number;
  readonly role?: Role;
  readonly group?: string;
}

export type AnomalyAction = 'alert' | 'kill' | 'revoke';

export interface AnomalyConfig {
  readonly deniedCommands: { readonly count: number; readonly withinMs: number; readonly action: AnomalyAction } | null;
  readonly dangerousCommands: { readonly action: AnomalyAction } | null;
  readonly outputVolume: {
    readonly bytes: number;
    readonly withinMs: number;
    readonly action: AnomalyAction;
    /** The optional rule relative to the session's own rate (docs/anomalies.md "outputVolume"). */
    readonly baseline?: { readonly factor: number; readonly warmupMs: number; readonly minBytes: number };
  } | null;
  readonly newSource: { readonly action: AnomalyAction } | null;
  readonly outsideNetworks: { readonly action: AnomalyAction } | null;
}

export type GrantState = 'pending' | 'active' | 'expired' | 'revoked' | 'denied';

export interface Approval {
  readonly by: string;
  readonly at: number;
  /** SHA-256 of the grant's content at approval time; a changed grant voids it. */
  readonly contentHash: string;
  readonly mfa: boolean;
}

export interface Grant {
  readonly id: string;
  readonly user: string;
  readonly targets: readonly string[];
  readonly incident: string;
  readonly template: string;
  readonly reason: string;
  readonly durationMs: number;
  readonly breakGlass: boolean;
  readonly state: GrantState;
  readonly requestedAt: number;
  readonly requestedBy: string;
  readonly approvals: readonly Approval[];
  readonly approvedAt: number | null;
  readonly expiresAt: number | null;
  readonly endedAt: number | null;
  /** Why it was denied or revoked. */
  readonly endReason: string | null;
  readonly endedBy: string | null;
  readonly reviewRequired: boolean;
  /** Optimistic concurrency: bumped on every write. */
  readonly version: number;
}

export type SessionState = 'live' | 'ended';

/** Why a session ended; each a distinct reason (DESIGN.md "Session"). */
export type EndReason =
  | 'exit'
  | 'killed'
  | 'expired'
  | 'revoked'
  | 'anomaly'
  | 'shutdown'
  | 'recording-failed'
  | 'upstream-error'
  | 'client-closed'
  | 'idle'
  | 'store-lost'
  | 'interrupted';

export interface Session {
  readonly id: string;
  readonly grantId: string;
  readonly user: string;
  readonly target: string;
  readonly incident: string;
  readonly kind: 'shell' | 'exec';
  /** The exec command line, for exec sessions. */
  readonly command: string | null;
  readonly state: SessionState;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly endReason: EndReason | null;
  readonly exitCode: number | null;
  readonly source: string;
  readonly broker: string;
  /** Path of the recording, relative to the recordings directory. */
  readonly recording: string | null;
}

export type Verdict = 'allow' | 'deny' | 'review';
