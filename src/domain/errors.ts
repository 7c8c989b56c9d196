/**
 * One error type with a stable code from one registry (fastify FST_ERR_*, undici UND_ERR_*).
 * The edges translate a code into their own vocabulary: an SSH disconnect line, a gRPC status,
 * a WebSocket close code, a CLI exit code. test/unit/errors.test.ts keeps this registry and
 * docs/errors.md in step.
 */

/** gRPC status numbers (grpc/status.h), repeated here so domain/ imports no I/O library. */
export const GrpcStatus = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

interface CodeSpec {
  /** What the code means, for docs and for humans reading a log line. */
  readonly description: string;
  /** gRPC status the API returns for it. */
  readonly grpc: number;
  /** CLI exit code: 1 refusal, 2 bad input, 3 needs review, 4 unavailable, 70 internal. */
  readonly exit: number;
}

function spec(description: string, grpc: number, exit: number): CodeSpec {
  return { description, grpc, exit };
}

const S = GrpcStatus;

export const ErrorCodes = {
  // config and input
  GH_ERR_CONFIG: spec('The configuration file is invalid; every problem is listed with its path.', S.INVALID_ARGUMENT, 2),
  GH_ERR_BAD_INPUT: spec('A request or argument failed validation.', S.INVALID_ARGUMENT, 2),
  GH_ERR_BAD_DURATION: spec('A duration is not of the form 90s, 30m, 1h, 1h30m, 2d.', S.INVALID_ARGUMENT, 2),
  GH_ERR_BAD_USERNAME: spec('The SSH user name is not USER:TARGET[:GRANT] or USER+TARGET[+GRANT].', S.INVALID_ARGUMENT, 2),
  // identity
  GH_ERR_UNAUTHENTICATED: spec('No valid API token or key was presented.', S.UNAUTHENTICATED, 1),
  GH_ERR_FORBIDDEN: spec('The caller lacks the role this action needs.', S.PERMISSION_DENIED, 1),
  GH_ERR_MFA_REQUIRED: spec('A TOTP code is required for this action.', S.PERMISSION_DENIED, 1),
  GH_ERR_MFA_INVALID: spec('The TOTP code is wrong, expired, or was already used.', S.PERMISSION_DENIED, 1),
  // grants
  GH_ERR_UNKNOWN_USER: spec('No such user in the configuration.', S.NOT_FOUND, 1),
  GH_ERR_UNKNOWN_TARGET: spec('No such target in the inventory.', S.NOT_FOUND, 1),
  GH_ERR_UNKNOWN_TEMPLATE: spec('No such template, or no template covers the requested targets.', S.NOT_FOUND, 1),
  GH_ERR_GRANT_NOT_FOUND: spec('No grant with that id.', S.NOT_FOUND, 1),
  GH_ERR_GRANT_STATE: spec('The grant is not in a state that allows this action.', S.FAILED_PRECONDITION, 1),
  GH_ERR_SELF_APPROVAL: spec('A requester cannot approve their own grant, under any name.', S.PERMISSION_DENIED, 1),
  GH_ERR_DUPLICATE_APPROVAL: spec('This approver has already approved the grant.', S.ALREADY_EXISTS, 1),
  GH_ERR_DURATION_CAP: spec('The requested duration exceeds the template maximum.', S.INVALID_ARGUMENT, 1),
  GH_ERR_TARGET_SCOPE: spec('The template does not cover a requested target.', S.PERMISSION_DENIED, 1),
  GH_ERR_BREAK_GLASS: spec('Break-glass is not allowed for this user, target or template.', S.PERMISSION_DENIED, 1),
  GH_ERR_TICKET: spec('The incident ticket is unknown or not open.', S.FAILED_PRECONDITION, 1),
  GH_ERR_CONFLICT: spec('The record changed concurrently; retry.', S.ABORTED, 4),
  // sessions
  GH_ERR_NO_GRANT: spec('No active grant covers this user on this target.', S.PERMISSION_DENIED, 1),
  GH_ERR_SESSION_NOT_FOUND: spec('No session with that id.', S.NOT_FOUND, 1),
  GH_ERR_SESSION_STATE: spec('The session is not live.', S.FAILED_PRECONDITION, 1),
  GH_ERR_CHANNEL_REFUSED: spec('The SSH channel or request type is not allowed by the grant.', S.PERMISSION_DENIED, 1),
  GH_ERR_SOURCE_NETWORK: spec('The client address is outside the networks the template allows.', S.PERMISSION_DENIED, 1),
  GH_ERR_SESSION_LIMIT: spec('The grant already has its maximum of concurrent sessions.', S.PERMISSION_DENIED, 1),
  GH_ERR_NO_PTY: spec('A shell without a terminal was refused: its input could not be inspected. Ask for a terminal (ssh -t) or run one command (ssh HOST CMD).', S.PERMISSION_DENIED, 1),
  // policy
  GH_ERR_POLICY_DENY: spec('The command policy denied the command.', S.PERMISSION_DENIED, 1),
  GH_ERR_POLICY_REVIEW: spec('The command needs a watcher to approve it.', S.PERMISSION_DENIED, 3),
  GH_ERR_POLICY_RULE: spec('A command rule in the configuration cannot be parsed.', S.INVALID_ARGUMENT, 2),
  // upstream
  GH_ERR_UPSTREAM_CONNECT: spec('The target could not be reached.', S.UNAVAILABLE, 4),
  GH_ERR_HOST_KEY_MISMATCH: spec("The target's host key does not match the pinned key: refusing to connect.", S.FAILED_PRECONDITION, 1),
  GH_ERR_UPSTREAM_AUTH: spec('The broker could not authenticate to the target.', S.UNAVAILABLE, 4),
  GH_ERR_SSM: spec('AWS Systems Manager refused or failed the session.', S.UNAVAILABLE, 4),
  GH_ERR_SSM_PROTOCOL: spec('The SSM data channel sent a malformed or unverifiable message.', S.UNAVAILABLE, 4),
  GH_ERR_INVENTORY: spec('The instance does not match the inventory (missing, offline, wrong tags or platform).', S.FAILED_PRECONDITION, 1),
  // recording, audit, sinks
  GH_ERR_RECORDING: spec('The session recording could not be written.', S.INTERNAL, 70),
  GH_ERR_RECORDING_NOT_FOUND: spec('No recording for that session.', S.NOT_FOUND, 1),
  GH_ERR_AUDIT_BROKEN: spec('The audit chain failed verification.', S.FAILED_PRECONDITION, 1),
  GH_ERR_SINK: spec('An event sink failed to deliver; delivery will be retried.', S.UNAVAILABLE, 4),
  // infrastructure
  GH_ERR_STORE: spec('The store failed or is unreachable.', S.UNAVAILABLE, 4),
  GH_ERR_UNAVAILABLE: spec('The broker is unreachable or shutting down.', S.UNAVAILABLE, 4),
  GH_ERR_INTERNAL: spec('An internal error; see the broker log.', S.INTERNAL, 70),
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ErrorCodes;

export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  /** Structured context, safe to log (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].description, options);
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }

  get grpcStatus(): number {
    return ErrorCodes[this.code].grpc;
  }
}

export function isGatehouseError(err: unknown, code?: ErrorCode): err is GatehouseError {
  return err instanceof GatehouseError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a GatehouseError, keeping codes that already exist. */
export function asGatehouseError(err: unknown, fallback: ErrorCode = 'GH_ERR_INTERNAL'): GatehouseError {
  if (err instanceof GatehouseError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GatehouseError(fallback, message, undefined, { cause: err });
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCodes, code);
}
