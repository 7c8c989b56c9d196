/**
 * ArcSight Common Event Format (CEF 0) for the syslog sink's `format: cef`:
 *
 *   CEF:0|Gatehouse|gatehouse|VERSION|CODE|TYPE|SEVERITY|EXTENSION
 *
 * Header fields escape `\` and `|`; extension values escape `\`, `=`, CR and LF (CEF spec
 * "Character Encoding"). Severity 0-10: info 3, notice 5, warning 7, critical 10. The extension
 * carries every field of the event with standard keys where CEF has one, and custom-string pairs
 * (`csNLabel=...  csN=...`) for the rest; `cs6` is the canonical JSON of the payload.
 */
import type { Severity } from '../events/catalogue.js';
import { canonicalJson, wellFormed } from '../events/canonical.js';
import type { AuditEvent } from '../events/types.js';
import { parseEndpoint } from './ocsf.js';

export const CEF_SEVERITY: Record<Severity, number> = { info: 3, notice: 5, warning: 7, critical: 10 };

export function cefHeaderEscape(v: string): string {
  return v.replace(/[\\|]/g, '\\$&').replace(/\r?\n|\r/g, ' ');
}

export function cefValueEscape(v: string): string {
  return v.replace(/[\\=]/g, '\\$&').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

export function formatCef(e: AuditEvent, version: string): string {
  const ext: [string, string | number | null][] = [
    ['rt', Date.parse(e.time)],
    ['externalId', e.id],
    ['cat', e.type],
    ['dvchost', e.broker],
    ['suser', e.actor],
    ['duser', e.user],
    ['dhost', e.target],
  ];
  const endpoint = parseEndpoint(e.source);
  if (endpoint) ext.push(['src', endpoint.ip], ['spt', endpoint.port]);
  if (typeof e.data.command === 'string') ext.push(['act', e.type.split('.')[1] ?? e.type]);
  ext.push(
    ['cn1Label', 'seq'],
    ['cn1', e.seq],
    ['cs1Label', 'grantId'],
    ['cs1', e.grantId],
    ['cs2Label', 'incident'],
    ['cs2', e.incident],
    ['cs3Label', 'sessionId'],
    ['cs3', e.sessionId],
    ['cs4Label', 'hash'],
    ['cs4', e.hash],
    ['cs5Label', 'source'],
    ['cs5', e.source],
    ['cs6Label', 'data'],
    // wellFormed: an event stored before lone surrogates were replaced at emit must not jam the sink.
    ['cs6', canonicalJson(wellFormed(e.data))],
  );
  const extension = ext
    .filter((kv): kv is [string, string | number] => kv[1] !== null)
    .map(([k, v]) => `${k}=${cefValueEscape(String(v))}`)
    .join(' ');
  const header = ['CEF:0', 'Gatehouse', 'gatehouse', version, e.code, e.type, String(CEF_SEVERITY[e.severity])].map((h, i) => (i === 0 ? h : cefHeaderEscape(h)));
  return `${header.join('|')}|${extension}`;
}

/** Splits a CEF line back into header fields and extension pairs (tests, and consumers without a parser). */
export function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let i = 0;
  let cur = '';
  while (header.length < 7 && i < line.length) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      i += 2;
      continue;
    }
    if (c === '|') {
      header.push(cur);
      cur = '';
    } else cur += c;
    i++;
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // Keys are `\w+=` preceded by a space (or the start); values run to the next unescaped key.
  const re = /(?:^| )([A-Za-z0-9_]+)=((?:\\.|[^\\])*?)(?= [A-Za-z0-9_]+=|$)/g;
  for (const m of rest.matchAll(re)) {
    ext[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_x, ch: string) => (ch === 'n' ? '\n' : ch === 'r' ? '\r' : ch));
  }
  return { header, ext };
}
