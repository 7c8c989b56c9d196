/** What the SSH edge needs from the rest of the broker, assembled once by main.ts. */
import type { Logger } from 'pino';
import type { ServerChannel } from 'ssh2';
import type { Connector } from '../connectors/types.js';
import type { Clock } from '../domain/clock.js';
import type { EndReason, Target, TargetKind } from '../domain/types.js';
import type { EventLog } from '../events/log.js';
import type { Directory } from '../grants/directory.js';
import type { GrantService } from '../grants/service.js';
import type { Watched } from '../monitor/watchdog.js';
import type { ConnectionContext } from './connection.js';
import type { GuardResult } from './guard.js';
import type { LiveSession, SessionSpec } from './session.js';
import type { SessionSlots } from './slots.js';

export interface GatewayServices {
  readonly directory: Directory;
  readonly grants: GrantService;
  readonly targets: ReadonlyMap<string, Target>;
  readonly connectors: Readonly<Partial<Record<TargetKind, Connector>>>;
  readonly events: EventLog;
  readonly clock: Clock;
  readonly log: Logger;
  /** Builds (but does not start) a session; registers it with the registry and the watchdog. */
  createSession(spec: SessionSpec, channel: ServerChannel, connector: Connector, onEnded: (s: LiveSession, reason: EndReason) => void): LiveSession;
  /**
   * Judges an exec command before anything reaches the target. `proceed: false` means it has told
   * the responder and written the event itself.
   */
  readonly guard?: (spec: SessionSpec, channel: ServerChannel) => Promise<GuardResult>;
  onAuthenticated(conn: ConnectionContext): void;
  /** Live sessions on a grant, across brokers (for `maxSessions`). */
  countLive(grantId: string): Promise<number>;
  /** Sessions being admitted on this broker, not yet in the store (for `maxSessions`). */
  readonly slots: SessionSlots;
  /**
   * Puts a forwarded TCP stream (`ssh -L`) under the supervision sessions have: the watchdog
   * (grant deadline, revocation) and the registry (shutdown, store loss). Returns the release.
   * Without it the broker refuses port forwarding (fail closed).
   */
  readonly superviseForward?: (forward: Watched) => () => void;
}
