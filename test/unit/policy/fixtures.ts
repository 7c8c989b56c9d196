/**
 * A realistic "diagnose" template: DESIGN.md's example rules, extended with the read-only tools
 * a responder reaches for first. Deliberately absent: interactive or code-running tools (less,
 * vim, awk, sed, python, find), and anything that writes.
 */
import type { CommandRules } from '../../../src/domain/types.js';

export const DIAGNOSE: CommandRules = {
  allow: [
    // DESIGN.md
    'ls *', 'cat /var/log/**', 'grep *', 'systemctl status *', 'journalctl *', 'ps *', 'df *',
    // reading logs and text
    'head *', 'tail *', 'wc *', 'sort *', 'uniq *', 'cut *', 'zcat /var/log/**', 'zgrep *', 'stat *', 'file /var/log/**',
    // host state
    'free *', 'uptime', 'top -b -n 1', 'dmesg *', 'vmstat *', 'iostat *', 'du -sh *', 'lsblk *', 'findmnt *', 'nproc',
    'id', 'whoami', 'hostname', 'uname *', 'date *', 'w', 'last *', 'lsof *', 'getent *',
    'systemctl is-active *', 'systemctl is-failed *', 'systemctl list-units *', 'systemctl --failed', 'systemctl show *',
    // network
    'ss *', 'netstat *', 'ip addr *', 'ip route *', 'dig *', 'ping -c *', 'curl -s http://localhost*/**', 'curl -s http://127.0.0.1*/**',
    // containers
    'docker ps *', 'docker logs *', 'kubectl get *', 'kubectl logs *', 'kubectl describe *',
    // a few privileged reads
    'sudo journalctl *', 'sudo systemctl status *', 'sudo cat /var/log/**', 'sudo ss *', 'sudo lsof *',
    'echo *',
  ],
  deny: ['rm *', 'systemctl stop *', 'systemctl disable *', 'kill *', 'shutdown *', 'reboot *', 'dd *', 'mkfs *', 'chmod *', 'chown *', 'iptables *'],
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
