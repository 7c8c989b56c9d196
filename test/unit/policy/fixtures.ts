/**
 * A realistic least-privilege "diagnose" template: DESIGN.md's example rules, extended with the
 * read-only tools a responder reaches for first, each narrowed the way an operator who hands out
 * sudo rights would narrow it. Rules are positional globs (`*` within one path segment, `**`
 * across, a final lone `*` any further arguments), so a tool whose options write files, change
 * the system or read files by name is allowed only in the exact forms listed:
 * - filters (head, tail, wc, sort, uniq, cut) read their input or files under /var/log only;
 *   never `sort -o FILE`, `sort --compress-program=PROG`, `uniq IN OUT`, `wc --files0-from=F`;
 * - `ip addr show`/`ip route show`, not `ip addr flush`/`ip route del`; `date` shows, never `-s`;
 *   `ss` and `dmesg` in read-only forms (never `ss -K`, `ss -D FILE`, `dmesg -C`/`-c`);
 * - curl only to the local health ports, spelled out: `http://localhost*` would match
 *   `http://localhost.evil.com/` and `http://localhost@evil.com/`, and `localhost:*` would match
 *   `localhost:80@evil.com`;
 * - `getent` for hosts, passwd and group (not shadow); sudo only for reads.
 * Deliberately absent: interactive or code-running tools (less, vim, awk, sed, python, find).
 */
import type { CommandRules } from '../../../src/domain/types.js';

export const DIAGNOSE: CommandRules = {
  allow: [
    // DESIGN.md
    'ls *', 'cat /var/log/**', 'grep *', 'systemctl status *', 'journalctl *', 'ps *', 'df *',
    // filters: on their input, or on files under /var/log
    'head', 'head -?*', 'head -n ?*', 'head /var/log/**', 'head -?* /var/log/**', 'head -n ?* /var/log/**',
    'tail', 'tail -?*', 'tail -n ?*', 'tail /var/log/**', 'tail -?* /var/log/**', 'tail -n ?* /var/log/**',
    'wc', 'wc -?', 'wc /var/log/**', 'wc -? /var/log/**',
    'sort', 'sort -n', 'sort -r', 'sort -rn', 'sort -nr', 'sort -u', 'sort -h', 'sort -rh', 'sort /var/log/**',
    'uniq', 'uniq -c', 'uniq -d', 'uniq -u',
    'cut -?* -?*', 'cut -?* -?* /var/log/**',
    'zcat /var/log/**', 'zgrep *', 'stat *', 'file /var/log/**',
    // host state
    'free *', 'uptime', 'top -b -n 1', 'dmesg', 'dmesg -T', 'dmesg -H', 'vmstat *', 'iostat *', 'du -sh', 'du -sh /var/**',
    'lsblk *', 'findmnt *', 'nproc', 'id', 'whoami', 'hostname', 'uname *', 'date', 'date -u', 'date +?*', 'date -u +?*',
    'w', 'last *', 'lsof *', 'getent hosts *', 'getent passwd *', 'getent group *',
    'systemctl is-active *', 'systemctl is-failed *', 'systemctl list-units *', 'systemctl --failed', 'systemctl show *',
    // network
    'ss', 'ss -s', 'ss -tlnp', 'ss -tulpn', 'ss -tan', 'netstat *', 'ip addr', 'ip addr show *', 'ip route', 'ip route show *',
    'dig *', 'ping -c ?* ?*',
    'curl -s http://localhost/**', 'curl -s http://localhost:8080/**', 'curl -s http://127.0.0.1/**', 'curl -s http://127.0.0.1:9090/**',
    // containers
    'docker ps *', 'docker logs *', 'kubectl get *', 'kubectl logs *', 'kubectl describe *',
    // a few privileged reads
    'sudo journalctl -u ?*', 'sudo journalctl -u ?* --since ?*', 'sudo systemctl status *', 'sudo cat /var/log/**',
    'sudo ss -tlnp', 'sudo ss -tulpn', 'sudo lsof *',
    'echo *',
  ],
  deny: [
    'rm *', 'systemctl stop *', 'systemctl disable *', 'kill *', 'shutdown *', 'reboot *', 'dd *', 'mkfs *', 'chmod *', 'chown *', 'iptables *',
    // carve-outs from `journalctl *` (positional: they catch these options in first place only)
    'journalctl --rotate *', 'journalctl --vacuum-size=* *', 'journalctl --vacuum-time=* *', 'journalctl --vacuum-files=* *', 'journalctl --flush *',
  ],
  review: ['systemctl restart *', 'systemctl reload *', 'docker restart *', 'kubectl rollout restart *'],
};

/**
 * The same template with the non-transparent wrappers themselves allowed, so that tests can show
 * the wrapped command deciding: `sudo rm x` is then denied because of `rm x`, not `sudo`.
 */
export const WRAPPERS_OK: CommandRules = {
  ...DIAGNOSE,
  allow: [
    ...DIAGNOSE.allow,
    'sudo *', 'doas *', 'pkexec *', 'su *', 'runuser *', 'xargs *', 'find *', 'sh -c *', 'bash -c *', 'dash -c *', 'zsh -c *',
    'watch *', 'flock *', 'setsid *', 'strace *', 'ltrace *', 'chroot *', 'busybox *',
  ],
};
