/**
 * RFC 5424 syslog messages and RFC 6587 octet-counting frames, for the syslog sink:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID id="..." seq="..." ...] MSG
 *
 * PRI = facility * 8 + severity (info → 6 informational, notice → 5, warning → 4, critical → 2);
 * the default facility is authpriv (10): these are security/authorization messages, which syslog
 * daemons keep out of world-readable logs. TIMESTAMP is the event's `time`; HOSTNAME the broker id;
 * PROCID the broker's pid; MSGID the event type (every type fits RFC 5424's 32 characters).
 * STRUCTURED-DATA holds one element with every id and context field that is not null (param values
 * escape `"`, `\` and `]`). MSG is the body (JSON, CEF or OCSF JSON), without a BOM.
 */
import type { Severity } from '../events/catalogue.js';
import type { AuditEvent } from '../events/types.js';

export const FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

export const SYSLOG_SEVERITY: Record<Severity, number> = { info: 6, notice: 5, warning: 4, critical: 2 };

/**
 * The default SD-ID. 32473 is the Private Enterprise Number RFC 5612 reserves for documentation;
 * set `sdId` to `gatehouse@YOUR-PEN` if your organisation has one.
 */
export const DEFAULT_SD_ID = 'gatehouse@32473';

/** The event fields copied into STRUCTURED-DATA, in this order, as `name="value"`. */
export const SD_FIELDS = ['id', 'seq', 'type', 'code', 'severity', 'broker', 'actor', 'user', 'target', 'grantId', 'incident', 'sessionId', 'source', 'hash'] as const;

export interface Rfc5424Options {
  readonly facility: number;
  readonly appName: string;
  readonly procId: string;
  readonly sdId: string;
}

/** PARAM-VALUE escaping (RFC 5424 section 6.3.3). */
export function sdEscape(v: string): string {
  return v.replace(/["\\\]]/g, '\\$&');
}

/** A header field: PRINTUSASCII only (others become `_`), at most `max` characters, `-` when empty. */
export function headerField(v: string, max: number): string {
  const clean = v.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

export function formatRfc5424(e: AuditEvent, body: string, o: Rfc5424Options): string {
  const pri = o.facility * 8 + SYSLOG_SEVERITY[e.severity];
  const params = SD_FIELDS.filter((f) => e[f] !== null).map((f) => `${f}="${sdEscape(String(e[f]))}"`);
  const sd = `[${o.sdId} ${params.join(' ')}]`;
  return `<${pri}>1 ${headerField(e.time, 64)} ${headerField(e.broker, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} ${headerField(e.type, 32)} ${sd} ${body}`;
}

/** RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

/** Splits a byte stream of octet-counted frames; returns the messages and the unconsumed rest. */
export function unframe(buf: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let at = 0;
  for (;;) {
    const sp = buf.indexOf(0x20, at);
    if (sp < 0) break;
    const len = Number(buf.subarray(at, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0) throw new Error(`bad octet-counting frame at byte ${at}`);
    if (buf.length < sp + 1 + len) break;
    messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    at = sp + 1 + len;
  }
  return { messages, rest: buf.subarray(at) };
}

export interface ParsedRfc5424 {
  readonly pri: number;
  readonly version: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly sd: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly msg: string;
}

/** A strict RFC 5424 parser (tests, and consumers that want the fields back). Throws on any deviation. */
export function parseRfc5424(line: string): ParsedRfc5424 {
  const m = /^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line);
  if (!m) throw new Error(`not an RFC 5424 header: ${line.slice(0, 80)}`);
  const pri = Number(m[1]);
  if (pri > 191) throw new Error(`PRI ${pri} out of range`);
  const timestamp = m[3] as string;
  if (timestamp !== '-' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(timestamp)) throw new Error(`bad TIMESTAMP ${timestamp}`);
  const lens: [string, number][] = [
    [m[4] as string, 255],
    [m[5] as string, 48],
    [m[6] as string, 128],
    [m[7] as string, 32],
  ];
  for (const [v, max] of lens) if (v.length > max || !/^[\x21-\x7e]+$/.test(v)) throw new Error(`bad header field ${v}`);
  let i = m[0].length;
  const sd = new Map<string, Record<string, string>>();
  if (line[i] === '-') {
    i++;
  } else {
    while (line[i] === '[') {
      i++;
      const idEnd = line.slice(i).search(/[ \]]/);
      if (idEnd <= 0) throw new Error('bad SD-ID');
      const id = line.slice(i, i + idEnd);
      i += idEnd;
      const params: Record<string, string> = {};
      while (line[i] === ' ') {
        i++;
        const eq = line.indexOf('=', i);
        const name = line.slice(i, eq);
        if (!/^[\x21-\x7e]{1,32}$/.test(name) || /[= \]"]/.test(name)) throw new Error(`bad PARAM-NAME ${name}`);
        if (line[eq + 1] !== '"') throw new Error('PARAM-VALUE must be quoted');
        i = eq + 2;
        let value = '';
        for (;;) {
          const c = line[i];
          if (c === undefined) throw new Error('unterminated PARAM-VALUE');
          if (c === '\\' && ['"', '\\', ']'].includes(line[i + 1] ?? '')) {
            value += line[i + 1];
            i += 2;
            continue;
          }
          if (c === '"') break;
          if (c === ']') throw new Error('unescaped ] in PARAM-VALUE');
          value += c;
          i++;
        }
        i++;
        params[name] = value;
      }
      if (line[i] !== ']') throw new Error('unterminated SD-ELEMENT');
      i++;
      sd.set(id, params);
    }
  }
  let msg = '';
  if (i < line.length) {
    if (line[i] !== ' ') throw new Error('expected SP before MSG');
    msg = line.slice(i + 1);
  }
  return { pri, version: Number(m[2]), timestamp, hostname: m[4] as string, appName: m[5] as string, procId: m[6] as string, msgId: m[7] as string, sd, msg };
}
