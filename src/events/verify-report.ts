/**
 * The parts of verification around the chain itself: re-hashing recording files against the
 * `recording.closed` events that verified, and the one line (or summary) the CLI prints.
 */
import { resolve, sep } from 'node:path';
import type { RecordingClaim, RecordingProblem, VerifyReport } from './verify.js';

/**
 * Re-hashes each claimed recording under `dir` (paths that escape `dir` count as missing) and
 * returns the report with the problems in sequence order.
 */
export async function verifyRecordings(
  report: VerifyReport,
  claims: readonly RecordingClaim[],
  dir: string,
  hashFile: (path: string) => Promise<{ sha256: string; bytes: number }>,
): Promise<VerifyReport> {
  const root = resolve(dir);
  const problems: RecordingProblem[] = [];
  for (const c of claims) {
    const path = resolve(root, c.path);
    const inside = path.startsWith(root + sep);
    const actual = inside ? await hashFile(path).catch(() => null) : null;
    if (actual === null) problems.push({ ...c, problem: 'missing', actualSha256: null });
    else if (actual.sha256 !== c.sha256) problems.push({ ...c, problem: 'mismatch', actualSha256: actual.sha256 });
  }
  return { ...report, ok: report.ok && problems.length === 0, recordings: { checked: claims.length, problems } };
}

/** The one line a failed verification prints on stderr; null when the report is OK. */
export function failureLine(r: VerifyReport): string | null {
  if (r.break) return `audit chain broken at seq ${r.break.seq}: ${r.break.kind} (${r.break.detail})`;
  const p = r.recordings.problems[0];
  if (p) {
    const more = r.recordings.problems.length > 1 ? `; ${r.recordings.problems.length - 1} more` : '';
    return `recording ${p.path} (seq ${p.seq}) ${p.problem === 'missing' ? 'is missing' : 'no longer matches its hash'}${more}`;
  }
  return null;
}

/** The human summary of an OK report. */
export function summaryLine(r: VerifyReport): string {
  const range = r.lastSeq === null ? 'no events' : `events ${r.firstSeq}..${r.lastSeq}`;
  const cps = `${r.checkpoints.count} checkpoint${r.checkpoints.count === 1 ? '' : 's'}`;
  const anchor = r.anchor ? `, anchor ${r.anchor.seq} matched` : '';
  const tail = r.unanchoredTail > 0 ? `; ${r.unanchoredTail} event${r.unanchoredTail === 1 ? '' : 's'} after the last checkpoint` : '';
  const recs = r.recordings.checked > 0 ? `, ${r.recordings.checked} recording${r.recordings.checked === 1 ? '' : 's'}` : '';
  return `OK: ${range} (head ${r.headHash?.slice(0, 16) ?? '-'}), ${cps}${anchor}${recs}${tail}${r.duplicates > 0 ? `; ${r.duplicates} duplicates skipped` : ''}`;
}
