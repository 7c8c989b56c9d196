/**
 * The decision's shape, its one-line rendering, and splitSimpleCommands.
 */
import { describe, expect, it } from 'vitest';
import { compileRules, evaluate, formatDecision, splitSimpleCommands } from '../../../src/policy/index.js';
import { DIAGNOSE } from './fixtures.js';

const D = compileRules(DIAGNOSE);

describe('Decision', () => {
  it('lists every simple command: deny first, then review, then allow, each in line order', () => {
    const d = evaluate(D, 'ls -la; systemctl restart nginx; rm -rf /tmp/x; df -h; kill 1');
    expect(d).toEqual({
      decision: 'deny',
      reasons: [
        { command: 'rm -rf /tmp/x', rule: 'rm *', why: 'matches deny rule "rm *"' },
        { command: 'kill 1', rule: 'kill *', why: 'matches deny rule "kill *"' },
        { command: 'systemctl restart nginx', rule: 'systemctl restart *', why: 'matches review rule "systemctl restart *"' },
        { command: 'ls -la', rule: 'ls *', why: 'matches allow rule "ls *"' },
        { command: 'df -h', rule: 'df *', why: 'matches allow rule "df *"' },
      ],
    });
  });

  it('says which part of a wrapped command failed', () => {
    const d = evaluate(D, 'sudo rm -rf /tmp/x');
    expect(d.reasons).toEqual([
      { command: 'sudo rm -rf /tmp/x', rule: null, why: 'no rule allows the wrapper sudo itself' },
      { command: 'rm -rf /tmp/x', rule: 'rm *', why: 'matches deny rule "rm *"' },
    ]);
  });

  it('an empty line runs nothing and is allowed with no reasons', () => {
    expect(evaluate(D, '')).toEqual({ decision: 'allow', reasons: [] });
    expect(evaluate(D, '  # comment')).toEqual({ decision: 'allow', reasons: [] });
  });

  it('returns fresh objects: a caller mutating a decision changes no later one', () => {
    const a = evaluate(D, 'ls -la /var/log/*');
    a.reasons.push({ command: 'x', rule: null, why: 'x' });
    (a.reasons[0] as { why: string }).why = 'changed';
    expect(evaluate(D, 'ls -la /var/log/*').reasons).toEqual([{ command: 'ls -la /var/log/*', rule: 'ls *', why: 'matches allow rule "ls *"' }]);
  });
});

describe('formatDecision', () => {
  it.each([
    ['rm -rf /tmp/x', 'denied: rm -rf /tmp/x (matches deny rule "rm *")'],
    ['systemctl restart nginx', 'needs review: systemctl restart nginx (matches review rule "systemctl restart *")'],
    ['df -h', 'allowed: df -h (matches allow rule "df *")'],
    ['ls; rm x; kill 1', 'denied: rm x (matches deny rule "rm *") (+2 more)'],
    ['', 'allowed: nothing to run'],
    ['ls "x', 'denied: ls "x (cannot parse: 1:4: reached EOF without closing quote ")'],
  ])('%j', (line, text) => {
    expect(formatDecision(evaluate(D, line))).toBe(text);
  });

  it('never prints control characters from the line', () => {
    const text = formatDecision(evaluate(D, "rm '\u001b]0;pwned\u0007' \u001b[2J"));
    expect(text).toBe("denied: rm '\\x1b]0;pwned\\x07' '\\x1b[2J' (matches deny rule \"rm *\")");
  });
});

describe('splitSimpleCommands', () => {
  it('finds every simple command, substitutions included, with resolved words', () => {
    const r = splitSimpleCommands('journalctl -u nginx | grep "a b" && ls $(r\\m x) ${HOME}');
    expect(r).toEqual({
      ok: true,
      commands: [
        { text: 'journalctl -u nginx', argv: ['journalctl', '-u', 'nginx'] },
        { text: 'grep "a b"', argv: ['grep', 'a b'] },
        { text: 'ls $(r\\m x) ${HOME}', argv: ['ls', null, null] },
        { text: 'r\\m x', argv: ['rm', 'x'] },
      ],
    });
  });

  it('reports unparseable input instead of throwing', () => {
    expect(splitSimpleCommands('ls "x')).toEqual({ ok: false, why: 'cannot parse: 1:4: reached EOF without closing quote "' });
    expect(splitSimpleCommands('a\u0000b')).toMatchObject({ ok: false });
  });
});
