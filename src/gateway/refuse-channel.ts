/**
 * Refusing a session channel on the wire: one printable line, the broker's exit status, close.
 * Channel plumbing, apart from the session lifecycle (session.ts), because connection.ts refuses
 * channels before any session exists and a session refuses its own when it cannot start.
 */
import type { ServerChannel } from 'ssh2';

/** The exit status the responder sees when the broker, not the target, ended the channel. */
export const BROKER_EXIT = 255;

/** Refuses a channel that never got a relay: one line on stderr, exit status, close. */
export function refuseChannel(channel: ServerChannel, message: string, pty: boolean): void {
  const line = `gatehouse: ${message}${pty ? '\r\n' : '\n'}`;
  try {
    if (pty) channel.write(line);
    else channel.stderr.write(line);
    channel.exit(BROKER_EXIT);
    channel.end();
  } catch {
    // the client is already gone
  }
}
