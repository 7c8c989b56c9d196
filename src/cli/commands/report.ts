/**
 * gatehouse report --incident INC [--json]   the post-incident review of one incident
 * gatehouse report --since 30d [--json]      the summary across incidents
 *
 * --json prints the report document as the broker built it; the human form reads like a review:
 * headings, aligned columns, durations such as 2m10s, and a ⚠ where something needs a person
 * (unreviewed break-glass, access still open).
 */
import { formatDuration } from '../../domain/duration.js';
import { GatehouseError } from '../../domain/errors.js';
import type { IncidentReport } from '../../grants/report.js';
import type { Percentiles, SummaryReport } from '../../monitor/report.js';
import { CLIENT_OPTIONS, clientOpts, output, parse, str } from '../args.js';
import { connect } from '../client.js';

/** Commands listed in the human form before the rest is summarised (all of them are in --json). */
const MAX_COMMAND_LINES = 500;

export async function reportCommand(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { ...CLIENT_OPTIONS, incident: { type: 'string' }, since: { type: 'string' } });
  const incident = str(values, 'incident') ?? '';
  const since = str(values, 'since') ?? '';
  if ((incident === '') === (since === '')) throw new GatehouseError('GH_ERR_BAD_INPUT', 'name exactly one of --incident INC or --since DURATION (e.g. 30d)');
  const api = connect(clientOpts(values));
  try {
    const res = await api.call('report', { incident, since });
    const doc = JSON.parse(String(res.json)) as IncidentReport | SummaryReport;
    output(values.json === true, doc, () => (doc.kind === 'incident' ? formatIncident(doc) : formatSummary(doc, since)));
    return 0;
  } finally {
    api.close();
  }
}

const WARN = '⚠';

/** "2026-01-01 09:00:05Z"; "-" when unset. */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

/** 2m10s, 340ms, "-" when unknown. */
export function span(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  return formatDuration(ms < 60_000 ? Math.round(ms / 100) * 100 : Math.round(ms / 1_000) * 1_000);
}

/** Aligned columns under a header; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], indent = '  '): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const section = (title: string, body: string): string => `\n${title}\n${body}`;
const kv = (pairs: readonly (readonly [string, string])[]): string => {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
};
const oneLine = (s: string, max = 100): string => {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

export function formatIncident(r: IncidentReport): string {
  const s = r.summary;
  const owed = r.reviews.filter((x) => x.reviewed === null);
  const lingering = r.lingering.grants.length + r.lingering.sessions.length === 0 ? 'none' : `${r.lingering.grants.length} grant(s) still open, ${r.lingering.sessions.length} session(s) still live ${WARN}`;
  const out: string[] = [
    `Post-incident review: ${r.incident}`,
    `Generated ${when(r.generatedAt)}`,
    section(
      'Summary',
      kv([
        ['Grants', `${s.grants}${s.breakGlass > 0 ? ` (${s.breakGlass} break-glass)` : ''}`],
        ['Reviews owed', owed.length === 0 ? 'none' : `${owed.length} ${WARN}`],
        ['Sessions', `${s.sessions} (${s.liveSessions} live)`],
        ['Commands', `${s.commandsJudged} judged, ${s.commandsDenied} denied`],
        ['Anomalies', String(s.anomalies)],
        ['First request', when(s.firstRequestAt)],
        ['Last activity', when(s.lastActivityAt)],
        ['Lingering access', lingering],
      ]),
    ),
  ];
  out.push(
    section(
      'Grants',
      r.grants.length === 0
        ? '  none'
        : table(
            ['GRANT', 'USER', 'STATE', 'TEMPLATE', 'TARGETS', 'REQUESTED', 'BY', 'APPROVED BY', 'TIME TO GRANT', 'ENDED'],
            r.grants.map((g) => [
              g.id,
              g.user,
              g.state + (g.breakGlass ? ' [break-glass]' : ''),
              g.template,
              g.targets.join(','),
              when(g.requestedAt),
              g.requestedBy,
              g.breakGlass ? '(break-glass)' : g.approvals.map((a) => `${a.by}${a.mfa ? ' (MFA)' : ''}`).join(', ') || '-',
              g.breakGlass ? '-' : span(g.timeToGrantMs),
              g.endedAt ? `${when(g.endedAt)} ${oneLine(g.endReason ?? '', 60)}${g.endedBy ? ` (by ${g.endedBy})` : ''}` : g.expiresAt ? `expires ${when(g.expiresAt)}` : '-',
            ]),
          ),
    ),
    section(
      'Sessions',
      r.sessions.length === 0
        ? '  none'
        : table(
            ['SESSION', 'USER', 'TARGET', 'KIND', 'FROM', 'STARTED', 'DURATION', 'END'],
            r.sessions.map((x) => [x.id, x.user, x.target, x.kind === 'exec' ? `exec: ${oneLine(x.command ?? '', 40)}` : 'shell', x.source, when(x.startedAt), span(x.durationMs), x.live ? `LIVE ${WARN}` : x.endReason === 'exit' ? `exit ${x.exitCode ?? '?'}` : `${x.endReason ?? '?'}${x.exitCode !== null ? ` (exit ${x.exitCode})` : ''}`]),
          ),
    ),
  );
  const cmds = r.commands.slice(0, MAX_COMMAND_LINES);
  const more = r.commands.length - cmds.length;
  out.push(
    section(
      `Commands (${s.commandsJudged} judged, ${s.commandsDenied} denied)`,
      r.commands.length === 0
        ? '  none'
        : table(
            ['TIME', 'USER', 'TARGET', 'DECISION', 'COMMAND'],
            cmds.map((c) => [when(c.at), c.user ?? '-', c.target ?? '-', c.decision === 'review' ? `review: ${c.outcome ?? '?'}` : c.decision, `${oneLine(c.command)}${c.why ? `  — ${oneLine(c.why, 80)}` : ''}`]),
          ) + (more > 0 ? `\n  … ${more} more (all of them with --json)` : ''),
    ),
    section('Anomalies', r.anomalies.length === 0 ? '  none' : table(['TIME', 'DETECTOR', 'ACTION', 'USER', 'SESSION', 'WHAT'], r.anomalies.map((a) => [when(a.at), a.detector, a.action, a.user ?? '-', a.sessionId ?? '-', oneLine(a.summary, 120)]))),
    section('Recordings', r.recordings.length === 0 ? '  none' : table(['SESSION', 'STATE', 'BYTES', 'SHA-256', 'PATH'], r.recordings.map((x) => [x.sessionId, x.state, x.bytes === null ? '-' : String(x.bytes), x.sha256 ?? '-', x.path]))),
    section(
      'Reviews',
      r.reviews.length === 0
        ? '  none owed'
        : table(['GRANT', 'USER', 'WHY', 'REVIEW'], r.reviews.map((x) => [x.grantId, x.user, x.why.join(', '), x.reviewed ? `reviewed by ${x.reviewed.by ?? '?'} at ${when(x.reviewed.at)}: ${oneLine(x.reviewed.notes, 80)}` : `UNREVIEWED ${WARN}`])),
    ),
    section(
      'Lingering access',
      r.lingering.grants.length + r.lingering.sessions.length === 0
        ? '  none: every grant is over and every session has ended'
        : [
            ...r.lingering.grants.map((g) => `  grant ${g.id} (${g.user} on ${g.targets.join(',')}) is ${g.state}${g.expiresAt ? ` until ${when(g.expiresAt)}` : ''} ${WARN}`),
            ...r.lingering.sessions.map((x) => `  session ${x.id} (${x.user} on ${x.target}) live since ${when(x.startedAt)} on ${x.broker} ${WARN}`),
          ].join('\n'),
    ),
    section('Timeline', r.timeline.length === 0 ? '  none' : table(['TIME', 'EVENT', 'WHAT'], r.timeline.map((t) => [when(t.at), t.type, oneLine(t.text, 120)]))),
  );
  return out.join('\n');
}

const pct = (p: Percentiles): string => (p.count === 0 ? 'no data' : `p50 ${span(p.p50)}   p90 ${span(p.p90)}   p99 ${span(p.p99)}   max ${span(p.max)}   (n=${p.count})`);
const counts = (o: Readonly<Record<string, number>>): string => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');

export function formatSummary(r: SummaryReport, since: string): string {
  const c = r.commands;
  return [
    `Access report: the last ${since} (${when(r.since)} to ${when(r.until)})`,
    section(
      'Summary',
      kv([
        ['Incidents', String(r.incidents)],
        ['Grants', `${r.grants.total}${r.grants.total > 0 ? ` (${counts(r.grants.byState)})` : ''}`],
        ['Break-glass', `${r.grants.breakGlass}${r.grants.unreviewedBreakGlass > 0 ? ` (${r.grants.unreviewedBreakGlass} unreviewed ${WARN})` : r.grants.breakGlass > 0 ? ' (all reviewed)' : ''}`],
        ['Reviews owed', r.grants.reviewsOwed === 0 ? 'none' : `${r.grants.reviewsOwed} ${WARN}`],
        ['Time to grant', pct(r.timeToGrantMs)],
        ['Time to revoke', pct(r.timeToRevokeMs)],
        ['Policy violations', c.violationRate === null ? 'no commands judged' : `${(c.violationRate * 100).toFixed(1)}% (${c.denied} denied of ${c.judged} judged; ${c.held} held for review)`],
        ['Sessions', `${r.sessions.total}${r.sessions.total > 0 ? ` (${counts(r.sessions.byEndReason)})` : ''}`],
        ['Anomalies', `${r.anomalies.total}${r.anomalies.total > 0 ? ` (${counts(r.anomalies.byDetector)}; actions: ${counts(r.anomalies.byAction)})` : ''}`],
      ]),
    ),
    section(
      'Incidents',
      r.perIncident.length === 0
        ? '  none'
        : table(
            ['INCIDENT', 'FIRST REQUEST', 'GRANTS', 'BREAK-GLASS', 'UNREVIEWED', 'SESSIONS', 'DENIED', 'ANOMALIES'],
            r.perIncident.map((i) => [i.incident, when(i.firstRequestAt), String(i.grants), String(i.breakGlass), i.unreviewed > 0 ? `${i.unreviewed} ${WARN}` : '0', String(i.sessions), String(i.denied), String(i.anomalies)]),
          ),
    ),
  ].join('\n');
}
