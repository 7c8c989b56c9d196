/**
 * `gatehouse policy check --config F --template NAME [--json] 'LINE'` as users run it: the real
 * binary (dist/), a real config file. Exit 0 allow, 1 deny, 3 review, 2 bad input; with --json,
 * the decision as {decision, reasons: [{command, rule, why}]} on stdout.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../fixtures/cli.js';
import { fileScope } from '../fixtures/scope.js';

const files = fileScope();

type Run = CliRun;

const cli = runCli;

const CONFIG = `
templates:
  - name: diagnose
    targets: ['env=prod']
    commands:
      allow: ['ls *', 'grep *', 'head', 'head /var/log/**']
      deny: ['rm *']
      review: ['systemctl restart *']
`;

let config = '';
const check = (...args: string[]): Promise<Run> => cli(['policy', 'check', '--config', config, '--template', 'diagnose', ...args]);

beforeAll(async () => {
  const dir = await files.tempDir('gh-policy-cli-');
  config = join(dir, 'gatehouse.yaml');
  await writeFile(config, CONFIG);
});

describe('gatehouse policy check', () => {
  it('allow exits 0 and prints the decision and each reason with its rule', async () => {
    const r = await check('ls -la /var/log | grep error');
    expect(r).toEqual({
      code: 0,
      stdout: 'allowed: ls -la /var/log (matches allow rule "ls *")\n  ls -la /var/log: matches allow rule "ls *" [ls *]\n  grep error: matches allow rule "grep *" [grep *]\n',
      stderr: '',
    });
  });

  it('deny exits 1; a line that does not parse is denied, not bad input', async () => {
    const r = await check('ls; rm -rf /tmp/x');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('denied: rm -rf /tmp/x (matches deny rule "rm *") (+1 more)');
    const unparsable = await check('ls "x');
    expect(unparsable.code).toBe(1);
    expect(unparsable.stdout).toMatch(/^denied: ls "x \(cannot parse: /);
  });

  it('review exits 3', async () => {
    const r = await check('systemctl restart nginx');
    expect(r.code).toBe(3);
    expect(r.stdout.split('\n')[0]).toBe('needs review: systemctl restart nginx (matches review rule "systemctl restart *")');
  });

  it('--json prints {decision, reasons: [{command, rule, why}]}, deciding reason first', async () => {
    const deny = await check('--json', 'head < /etc/shadow; ls');
    expect(deny.code).toBe(1);
    expect(JSON.parse(deny.stdout)).toEqual({
      decision: 'deny',
      reasons: [
        { command: 'head', rule: null, why: 'reads /etc/shadow through <, which no allow rule lets it name as an argument' },
        { command: 'ls', rule: 'ls *', why: 'matches allow rule "ls *"' },
      ],
    });
    const review = await check('--json', 'systemctl restart nginx && ls');
    expect(review.code).toBe(3);
    expect(JSON.parse(review.stdout)).toEqual({
      decision: 'review',
      reasons: [
        { command: 'systemctl restart nginx', rule: 'systemctl restart *', why: 'matches review rule "systemctl restart *"' },
        { command: 'ls', rule: 'ls *', why: 'matches allow rule "ls *"' },
      ],
    });
    const allow = await check('--json', 'head < /var/log/syslog');
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout)).toEqual({ decision: 'allow', reasons: [{ command: 'head', rule: 'head', why: 'matches allow rule "head"' }] });
  });

  it('bad input exits 2 with one line on stderr and nothing on stdout', async () => {
    const cases: ReadonlyArray<readonly [string[], string]> = [
      [['policy', 'check', '--config', config, '--template', 'nope', 'ls'], `gatehouse: no template "nope" in ${config}\n`],
      [['policy', 'check', '--config', config, '--template', 'diagnose'], "gatehouse: the command line to check is required, e.g. 'ls -la /var/log'\n"],
      [['policy', 'check', '--template', 'diagnose', 'ls'], 'gatehouse: --config is required\n'],
      [['policy', 'check', '--config', config, 'ls'], 'gatehouse: --template is required\n'],
      [['policy', 'lint'], 'gatehouse: unknown policy command "lint": use check\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await cli(args);
      expect({ args, ...r }).toEqual({ args, code: 2, stdout: '', stderr });
    }
    const missing = await cli(['policy', 'check', '--config', join(config, '..', 'missing.yaml'), '--template', 'diagnose', 'ls']);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^gatehouse: cannot read config .*missing\.yaml: ENOENT\n$/);
  });
});
