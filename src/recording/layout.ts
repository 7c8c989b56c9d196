import { join } from 'node:path';

/** `YYYY/MM/DD/<session-id>.cast` (UTC date of the session start), relative to the recordings dir. */
export function recordingPath(sessionId: string, startedAt: number): string {
  const d = new Date(startedAt);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return join(String(d.getUTCFullYear()), p2(d.getUTCMonth() + 1), p2(d.getUTCDate()), `${sessionId}.cast`);
}
