/**
 * The other half of every detector: a legitimate responder session fires nothing. 200 ordinary
 * diagnosis commands (listing, reading logs, grepping, process and disk checks, journalctl and
 * systemctl status, plus lines that merely mention dangerous things), through an interactive
 * shell and through exec, with every detector on at its strictest action.
 */
import { describe, expect, it } from 'vitest';
import { startHarness, TEST_RULES } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh, runSsh } from '../fixtures/ssh.js';

const scope = testScope();
const PROMPT = /[#$] $/;

const ALLOW = [...TEST_RULES.allow, 'journalctl *', 'systemctl status *', 'free *', 'uptime', 'hostname', 'ss *', 'ip *', 'find *', 'sort *', 'uniq *', 'awk *', 'du *', 'stat *', 'who', 'w', 'top *', 'cut *', 'history', 'history *', 'lsblk *', 'last *', 'ls'];

/** What a responder types while diagnosing; some lines mention history, audit or nc without doing anything to them. */
const ORDINARY = [
  'ls -la /var/log', 'df -h', 'df -i /', 'free -m', 'uptime', 'hostname', 'uname -a', 'id', 'whoami', 'date -u',
  'ps aux --sort=-%cpu | head -n 5', 'ps -ef | grep -c bash', 'cat /etc/os-release', 'head -n 3 /etc/passwd', 'tail -n 20 /var/log/dpkg.log',
  'grep -c processor /proc/cpuinfo', 'grep -r HISTFILE /etc/profile /etc/bash.bashrc', 'cat /proc/loadavg', 'journalctl --no-pager -n 20',
  'journalctl -u auditd --since "1 hour ago" --no-pager', 'systemctl status auditd --no-pager', 'systemctl status nginx --no-pager', 'ss -tln', 'ip addr show', 'ip route',
  'find /tmp -maxdepth 1 -type f -mmin -60', 'du -sh /var/log', 'stat /etc/hosts', 'sort /etc/shells | uniq', "awk -F: '{print $1}' /etc/passwd | head -n 5",
  'cut -d: -f1 /etc/group | sort | head -n 3', 'echo "checking unset HISTFILE in profile"', 'echo HISTSIZE=0', 'history 5', 'ls /var/log/audit',
  'top -bn1 | head -n 5', 'wc -l /etc/passwd', 'tail -n 5 /etc/group', 'date +%s', 'ps aux | grep nc', 'seq 1 100 | tail -n 1', 'who', 'w', 'lsblk -f', 'last -n 3',
];

describe('a legitimate responder session', () => {
  it('runs 200 ordinary commands (150 interactive, 50 exec) with every detector armed and fires nothing', { timeout: 90_000 }, async () => {
    const h = await startHarness(scope, {
      commands: { allow: ALLOW },
      templateFields: {
        idleTimeout: '30s',
        sourceNetworks: ['127.0.0.0/8'],
        anomaly: {
          deniedCommands: { count: 3, within: '1m', action: 'kill' },
          dangerousCommands: { action: 'kill' },
          outputVolume: { bytes: 5 * 1024 * 1024, within: '10s', action: 'kill' },
          newSource: { action: 'kill' },
          outsideNetworks: { action: 'revoke' },
        },
      },
    });
    const g = await h.grant({ targets: ['sandbox'] });
    const shell = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { cols: 160, rows: 50 });
    await shell.waitFor(PROMPT);
    for (let i = 0; i < 150; i++) {
      const line = ORDINARY[i % ORDINARY.length] as string;
      const mark = shell.mark();
      shell.write(`${line}\r`);
      await shell.waitFor(PROMPT, 15_000, mark + line.length);
    }
    const exec = [...ORDINARY, ...ORDINARY].slice(0, 50);
    for (let i = 0; i < exec.length; i += 5) {
      const batch = exec.slice(i, i + 5);
      const results = await Promise.all(batch.map((c) => runSsh(scope, h.target('alice', 'alice:sandbox'), c)));
      for (const r of results) expect(r.code).not.toBe(126);
    }
    const mark = shell.mark();
    shell.write('exit\r');
    expect(await shell.exited).toBe(0);
    expect(shell.output.slice(mark)).not.toContain('[gatehouse]');

    await h.broker.events.settled();
    const judged = await until(async () => {
      const all = await h.events();
      const n = all.filter((e) => e.type === 'command.allowed').length;
      return n >= 200 && all;
    }, 10_000, '200 judged commands');
    const allowed = judged.filter((e) => e.type === 'command.allowed');
    expect(allowed.filter((e) => e.data.mode === 'interactive')).toHaveLength(151); // and the final `exit`
    expect(allowed.filter((e) => e.data.mode === 'exec')).toHaveLength(50);
    expect(judged.filter((e) => e.type === 'command.denied').map((e) => e.data.command)).toEqual([]);
    expect(judged.filter((e) => e.type === 'anomaly.detected').map((e) => e.data)).toEqual([]);
    const ends = await until(async () => {
      const e = await h.events('session.end');
      return e.length === 51 && e;
    }, 10_000, '51 session ends');
    expect([...new Set(ends.map((e) => e.data.reason))]).toEqual(['exit']);
    expect(await h.broker.store.getGrant(g.id)).toMatchObject({ state: 'active', reviewRequired: false });
  });
});
