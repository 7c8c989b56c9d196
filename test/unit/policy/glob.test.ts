/**
 * The glob matcher, path normalisation, and how a command word names its program.
 */
import { describe, expect, it } from 'vitest';
import { classifyProgram, compilePattern, GLOBSTAR, matchPattern, normalizePath, QMARK, STAR } from '../../../src/policy/glob.js';

/** A rule word as the rule compiler tokenises it: `*`, `**`, `?` become tokens. */
function pattern(word: string) {
  const tokens = word.replace(/\*\*|\*|\?/g, (m) => (m === '**' ? GLOBSTAR : m === '*' ? STAR : QMARK));
  return compilePattern(tokens, word);
}

describe('normalizePath', () => {
  it.each([
    ['/var/log/../../etc/shadow', '/etc/shadow'],
    ['/var/log/./../../etc/passwd', '/etc/passwd'],
    ['/var//log///nginx/', '/var/log/nginx'],
    ['/../../..', '/'],
    ['/', '/'],
    ['a/b/../c', 'a/c'],
    ['../../x', '../../x'],
    ['./x', 'x'],
    ['.', '.'],
    ['a/..', '.'],
    ['--file=/var/log/../../etc/shadow', '--file=/etc/shadow'],
    ['/dev/null/../../etc/passwd', '/etc/passwd'],
  ])('%s → %s', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });
});

describe('rule globs', () => {
  it('`*` matches within one path segment only', () => {
    const p = pattern('/var/log/*.log');
    expect(matchPattern(p, '/var/log/syslog.log')).toBe(true);
    expect(matchPattern(p, '/var/log/.hidden.log')).toBe(true);
    expect(matchPattern(p, '/var/log/nginx/error.log')).toBe(false);
    expect(matchPattern(p, '/var/log/syslog')).toBe(false);
  });

  it('`**` matches across segments, and `/a/**` matches `/a` itself', () => {
    const p = pattern('/var/log/**');
    expect(matchPattern(p, '/var/log/nginx/error.log')).toBe(true);
    expect(matchPattern(p, '/var/log/a/b/c/d')).toBe(true);
    expect(matchPattern(p, '/var/log')).toBe(true);
    expect(matchPattern(p, '/var/logs/x')).toBe(false);
    expect(matchPattern(p, '/var/log/../../etc/shadow')).toBe(false);
    expect(matchPattern(p, '/var/log/nginx/../../../etc/shadow')).toBe(false);
    expect(matchPattern(p, '/var/log/nginx/../syslog')).toBe(true);
    expect(matchPattern(p, '//var//log//syslog')).toBe(true);
  });

  it('`/a/**/b` matches b at any depth under a, including directly', () => {
    const p = pattern('/srv/**/logs');
    expect(matchPattern(p, '/srv/logs')).toBe(true);
    expect(matchPattern(p, '/srv/app/logs')).toBe(true);
    expect(matchPattern(p, '/srv/app/x/logs')).toBe(true);
    expect(matchPattern(p, '/srv/app/logsx')).toBe(false);
  });

  it('`**/x` at the start matches x in any directory', () => {
    const p = pattern('**/error.log');
    expect(matchPattern(p, 'error.log')).toBe(true);
    expect(matchPattern(p, 'a/b/error.log')).toBe(true);
    expect(matchPattern(p, 'a/b/xerror.log')).toBe(false);
  });

  it('`**` inside a segment crosses slashes', () => {
    const p = pattern('/var/log/app**');
    expect(matchPattern(p, '/var/log/app/x/y')).toBe(true);
    expect(matchPattern(p, '/var/log/apple')).toBe(true);
  });

  it('`?` is one character other than `/`', () => {
    const p = pattern('-n?');
    expect(matchPattern(p, '-n5')).toBe(true);
    expect(matchPattern(p, '-n')).toBe(false);
    expect(matchPattern(p, '-n55')).toBe(false);
    expect(matchPattern(pattern('a?b'), 'a/b')).toBe(false);
  });

  it('a lone `**` matches any one argument', () => {
    const p = pattern('**');
    expect(p.anything).toBe(true);
    expect(matchPattern(p, '')).toBe(true);
    expect(matchPattern(p, '/etc/shadow')).toBe(true);
  });

  it('regular-expression characters are literal', () => {
    const p = pattern('a.b+(c)[d]{e}|^$\\');
    expect(p.literal).toBe('a.b+(c)[d]{e}|^$\\');
    expect(matchPattern(p, 'a.b+(c)[d]{e}|^$\\')).toBe(true);
    expect(matchPattern(p, 'aXb+(c)[d]{e}|^$\\')).toBe(false);
    const q = pattern('x.*');
    expect(matchPattern(q, 'x.y')).toBe(true);
    expect(matchPattern(q, 'xzy')).toBe(false);
  });

  it('matches values containing newlines and control characters as data', () => {
    expect(matchPattern(pattern('*'), 'a\nb')).toBe(true);
    expect(matchPattern(pattern('**'), 'a\n/b\u001b')).toBe(true);
    expect(matchPattern(pattern('/var/log/**'), '/var/log/a\nb')).toBe(true);
  });
});

describe('program names', () => {
  it('a bare name is looked up in the standard directories', () => {
    expect(classifyProgram('ls')).toEqual({ kind: 'bare', name: 'ls' });
  });

  it.each(['/bin/ls', '/usr/bin/ls', '/sbin/ls', '/usr/sbin/ls', '/usr/local/bin/ls', '/usr/local/sbin/ls', '/usr//bin/./ls', '/tmp/../usr/bin/ls'])(
    '%s is the standard ls',
    (word) => {
      expect(classifyProgram(word)).toMatchObject({ kind: 'path', base: 'ls' });
    },
  );

  it.each(['./ls', 'bin/ls', '/tmp/ls', '/opt/bin/ls', '/usr/bin/x/ls', '/usr/bin/'])('%s is not a standard program', (word) => {
    expect(classifyProgram(word)).toMatchObject({ kind: 'path', base: null });
  });
});
