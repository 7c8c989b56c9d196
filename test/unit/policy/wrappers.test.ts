/**
 * Wrappers: where the wrapped command is found, and the two semantics (transparent wrappers
 * need no rule; the others need one AND an allowed inner command).
 */
import { describe, expect, it } from 'vitest';
import { compileRules, evaluate } from '../../../src/policy/index.js';
import { DIAGNOSE, WRAPPERS_OK } from './fixtures.js';

const D = compileRules(DIAGNOSE);
const W = compileRules(WRAPPERS_OK);

describe('transparent wrappers inherit the wrapped command', () => {
  it.each([
    'nohup journalctl -f -u nginx',
    'nice -n 10 grep x /var/log/syslog',
    'nice -5 df -h',
    'timeout 10 journalctl -f',
    'timeout -k 5 -s TERM 10s journalctl -f',
    'stdbuf -oL tail -f /var/log/syslog',
    'ionice -c 3 du -sh /var/log',
    'env LC_ALL=C grep x /var/log/syslog',
    'env -i TZ=UTC date',
    'env -u HOME -- ls',
    'command ls',
    'exec df -h',
    '/usr/bin/time -v ls',
    'nohup nice timeout 5 env LANG=C ls',
  ])('%s is allowed under the diagnose template', (line) => {
    const d = evaluate(D, line);
    expect(d.decision).toBe('allow');
    expect(d.reasons.at(-1)?.rule).not.toBeNull(); // the innermost command matched a rule
  });

  it('with nothing to run they are ordinary commands', () => {
    expect(evaluate(D, 'env').decision).toBe('deny');
    expect(evaluate(D, 'nice').decision).toBe('deny');
    expect(evaluate(D, 'command -v ls').decision).toBe('deny');
    expect(evaluate(compileRules({ allow: ['command -v *'], deny: [], review: [] }), 'command -v ls').decision).toBe('allow');
  });

  it('deny and review rules still apply to the wrapper itself', () => {
    const rules = compileRules({ allow: ['ls *'], deny: ['nohup *'], review: ['nice *'] });
    expect(evaluate(rules, 'nohup ls').decision).toBe('deny');
    expect(evaluate(rules, 'nice ls').decision).toBe('review');
  });
});

describe('other wrappers need their own rule and an allowed inner command', () => {
  it.each([
    ['sudo -u www-data journalctl -u nginx', 'allow'],
    ['sudo -iu root journalctl -u nginx', 'allow'],
    ['sudo LC_ALL=C journalctl', 'allow'],
    ['sudo -l', 'allow'],
    ['ls /var/log | xargs grep -l error', 'allow'],
    ['xargs -0 -n 1 grep x', 'allow'],
    ["find /var/log -name '*.gz' -exec grep -l x {} +", 'allow'],
    ["find /var/log -name '*.gz' -exec zcat {} +", 'deny'], // {} is unknown; zcat /var/log/** needs a known path
    ["watch -n 5 'df -h; free -m'", 'allow'],
    ['watch -x ls /var/log', 'allow'],
    ["bash -c 'journalctl -u nginx | tail -n 5'", 'allow'],
    ["su - postgres -c 'ps aux'", 'allow'],
    ['flock /var/lock/x ls', 'allow'],
    ["flock /var/lock/x -c 'ls /'", 'allow'],
    ['strace -f -e trace=open ls', 'allow'],
    ['strace -p 1234', 'allow'],
    ['busybox ls', 'allow'],
    ['setsid -f ls', 'allow'],
    ['sudo -h', 'allow'],
    ['sudo -h host rm x', 'deny'],
    ['su root extra', 'deny'],
    ['xargs -I "$R" ls', 'deny'],
    ['find /var/log -exec ls', 'deny'],
    ['timeout --preserve 5 ls', 'deny'], // abbreviated long options are refused, not guessed
  ] as const)('%s → %s', (line, decision) => {
    expect(evaluate(W, line).decision).toBe(decision);
  });

  it('without the wrapper rule, the wrapper is what is denied, and the inner command is still judged', () => {
    const d = evaluate(D, 'sudo ls /root');
    expect(d.decision).toBe('deny');
    expect(d.reasons).toEqual([
      { command: 'sudo ls /root', rule: null, why: 'no rule allows the wrapper sudo itself' },
      { command: 'ls /root', rule: 'ls *', why: 'matches allow rule "ls *"' },
    ]);
  });

  it('sh -c strings nest at most 8 deep', () => {
    const deep = Array.from({ length: 9 }).reduce<string>((acc) => `sh -c ${JSON.stringify(acc)}`, 'ls');
    const shallow = Array.from({ length: 3 }).reduce<string>((acc) => `sh -c ${JSON.stringify(acc)}`, 'ls');
    expect(evaluate(W, shallow).decision).toBe('allow');
    const d = evaluate(W, deep);
    expect(d.decision).toBe('deny');
    expect(d.reasons[0]?.why).toBe('commands nested too deeply to judge');
  });
});
