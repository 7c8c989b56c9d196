/**
 * Session-channel requests (RFC 4254 §6): collect pty and env, then start exactly one of shell,
 * exec or subsystem. Agent and X11 forwarding are always refused; subsystems only where the
 * template lists them, and only to ssh targets (local port forwarding: forward.ts). Sizes from the
 * client are clamped, never trusted.
 */
import type { AcceptConnection, PseudoTtyInfo, RejectConnection, ServerChannel, Session as SshSession } from 'ssh2';
import type { PtySpec } from '../connectors/types.js';
import type { ConnectionContext } from './connection.js';

export const MAX_COLS = 1_000;
export const MAX_ROWS = 500;
const MAX_ENV = 32;
/** Like sshd's AcceptEnv default on Debian: locale only. */
const ENV_ALLOWED = /^(LANG|LC_[A-Z]+|COLORTERM|TZ)$/;
const TERM_RE = /^[A-Za-z0-9._+-]{1,64}$/;

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const c = Number.isFinite(cols) && cols > 0 ? Math.min(Math.floor(cols), MAX_COLS) : 80;
  const r = Number.isFinite(rows) && rows > 0 ? Math.min(Math.floor(rows), MAX_ROWS) : 24;
  return { cols: c, rows: r };
}

export interface StartRequest {
  readonly kind: 'shell' | 'exec';
  readonly command: string | undefined;
  readonly subsystem: string | undefined;
  readonly pty: PtySpec | undefined;
  readonly env: Readonly<Record<string, string>>;
}

export interface ChannelHandle {
  resize(cols: number, rows: number): void;
  signal(name: string): void;
}

export type StartFn = (channel: ServerChannel, req: StartRequest) => ChannelHandle | undefined;

/** `closed` runs once when the channel closes (the connection counts its open channels). */
export function handleSessionChannel(accept: AcceptConnection<SshSession>, ctx: ConnectionContext, start: StartFn, closed: () => void = () => {}): void {
  const session = accept();
  session.once('close', closed);
  let pty: PtySpec | undefined;
  const env: Record<string, string> = {};
  let handle: ChannelHandle | undefined;
  let started = false;

  const once = (kind: 'shell' | 'exec' | 'subsystem', acceptCh: AcceptConnection<ServerChannel>, rejectCh: RejectConnection, command?: string, subsystem?: string): void => {
    if (started) return rejectCh();
    started = true;
    const channel = acceptCh();
    if (channel === undefined) return;
    handle = start(channel, { kind: kind === 'shell' ? 'shell' : 'exec', command, subsystem, pty, env });
  };

  session.on('pty', (acceptReq, rejectReq, info: PseudoTtyInfo) => {
    if (started) return rejectReq?.();
    const term = typeof info.term === 'string' && TERM_RE.test(info.term) ? info.term : 'xterm-256color';
    pty = { term, ...clampSize(info.cols, info.rows) };
    acceptReq?.();
  });
  session.on('window-change', (acceptReq, _rejectReq, info) => {
    const size = clampSize(info.cols, info.rows);
    if (pty) pty = { ...pty, ...size };
    handle?.resize(size.cols, size.rows);
    acceptReq?.();
  });
  session.on('env', (acceptReq, rejectReq, info) => {
    if (!started && Object.keys(env).length < MAX_ENV && ENV_ALLOWED.test(info.key) && info.val.length <= 256 && !/[\0\r\n]/.test(info.val)) {
      env[info.key] = info.val;
      acceptReq?.();
    } else {
      rejectReq?.();
    }
  });
  session.on('signal', (acceptReq, _rejectReq, info) => {
    if (/^[A-Z0-9]{1,8}$/.test(info.name)) handle?.signal(info.name);
    acceptReq?.();
  });
  session.on('shell', (acceptCh, rejectCh) => once('shell', acceptCh, rejectCh));
  session.on('exec', (acceptCh, rejectCh, info) => once('exec', acceptCh, rejectCh, info.command));
  session.on('subsystem', (acceptCh, rejectCh, info) => {
    const decide = (refusal: string | null): void => {
      if (refusal === null) return once('subsystem', acceptCh, rejectCh, undefined, info.name);
      ctx.refused('GH_ERR_CHANNEL_REFUSED', refusal);
      rejectCh();
    };
    const refusal = ctx.subsystemRefusal(info.name);
    if (refusal === null || typeof refusal === 'string') decide(refusal);
    else void refusal.then(decide);
  });
  // Never allowed, whatever the template says: agent forwarding would hand the target the
  // responder's keys, X11 would expose the responder's display to the target.
  session.on('auth-agent', (_a, rejectReq) => {
    ctx.refused('GH_ERR_CHANNEL_REFUSED', 'agent forwarding is not supported through the broker');
    rejectReq?.();
  });
  session.on('x11', (_a, rejectReq) => {
    ctx.refused('GH_ERR_CHANNEL_REFUSED', 'X11 forwarding is not supported through the broker');
    rejectReq?.();
  });
}
