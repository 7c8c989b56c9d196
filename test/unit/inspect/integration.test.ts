/**
 * The shell-integration line, run in real shells (bash, zsh and dash in a PTY): bash and zsh print
 * the marks with the nonce and the sentinel, dash only the sentinel; and the diverter hides exactly up to
 * the sentinel.
 */
import * as pty from 'node-pty';
import { describe, expect, it } from 'vitest';
import { SetupDiverter, sentinel, setupLine } from '../../../src/inspect/integration.js';
import { until } from '../../fixtures/scope.js';

function run(shell: string, args: string[], input: string[]): Promise<string> {
  const p = pty.spawn(shell, args, { name: 'xterm-256color', cols: 200, rows: 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm-256color', HOME: '/tmp', PS1: '$ ', HISTFILE: '/dev/null' } });
  let out = '';
  p.onData((d) => (out += d));
  return (async () => {
    try {
      await until(() => out.includes('$ '), 5_000, 'prompt');
      for (const line of input) {
        const from = out.length;
        p.write(`${line}\r`);
        await until(() => out.slice(from).includes('$ '), 5_000, 'next prompt');
      }
      return out;
    } finally {
      p.kill();
    }
  })();
}

describe('shell integration', () => {
  it('makes bash print nonce-carrying marks, exit codes, and pagers set to cat; the line leaves no history', async () => {
    const out = await run('bash', ['--norc', '--noprofile', '-i'], [setupLine('abc123'), 'false', 'echo $PAGER', 'history']);
    expect(out).toMatch(sentinel('abc123'));
    expect(sentinel('abc123').exec(out)?.[1]).toBe('bash');
    expect(out).toContain('\x1b]133;C;gh=abc123\x07');
    expect(out).toContain('\x1b]133;D;1;gh=abc123\x07');
    expect(out).toContain('\x1b]133;B;gh=abc123\x07');
    expect(out).toContain('\x1b]133;C;gh=abc123\x07cat\r\n');
    const history = out.slice(out.lastIndexOf('history\r\n'));
    expect(history).not.toContain('__gh_mark');
  });

  it('removes, in every keymap of bash, the bindings that run or expand a line without an Enter', async () => {
    // vi mode at setup time: the emacs bindings must go all the same (set -o emacs brings them back).
    const count = (map: string, fns: string): string => `bind -m ${map} -p | grep -v '^#' | grep -c -E '${fns}'`;
    const before = await run('bash', ['--norc', '--noprofile', '-o', 'vi', '-i'], [`echo emacs=$(${count('emacs', 'kbd-macro|insert-comment|shell-expand-line|re-read-init-file|edit-and-execute')}) vi=$(${count('vi-command', 'insert-comment|edit-and-execute')})`]);
    expect(before).toContain('emacs=7 vi=2');
    const after = await run('bash', ['--norc', '--noprofile', '-o', 'vi', '-i'], [setupLine('abc123'), `echo emacs=$(${count('emacs', 'kbd-macro|insert-comment|shell-expand-line|re-read-init-file|edit-and-execute')}) vi=$(${count('vi-command', 'insert-comment|edit-and-execute')})`]);
    expect(after).toContain('emacs=0 vi=0');
  });

  it('makes zsh print the same marks (hooks, not PS0/PROMPT_COMMAND), and removes the edit-in-editor widget', async () => {
    const bind = "autoload -Uz edit-command-line; zle -N edit-command-line; bindkey '^X^E' edit-command-line; bindkey -M vicmd v edit-command-line";
    const out = await run('zsh', ['-f', '-i'], [bind, setupLine('abc123'), 'false', 'echo $PAGER', "bindkey '^X^E'; zle -l | grep -c edit-command-line"]);
    expect(sentinel('abc123').exec(out)?.[1]).toBe('zsh');
    expect(out).toContain('\x1b]133;D;1;gh=abc123\x07\x1b]133;A;gh=abc123\x07');
    expect(out).toContain('\x1b]133;B;gh=abc123\x07');
    expect(out).toContain('\x1b]133;C;gh=abc123\x07cat\r\n');
    const last = out.slice(out.lastIndexOf('zle -l | grep -c edit-command-line'));
    expect(last).toContain('"^X^E" undefined-key');
    expect(last).toMatch(/\r\n0\r\n/);
    const keys = await run('zsh', ['-f', '-i'], [setupLine('abc123'), "echo widgets=$( (bindkey -M emacs; bindkey -M vicmd) | grep -c -E 'accept-and-hold|expand-word|pound-insert')"]);
    expect(keys).toContain('widgets=0');
  });

  it('is harmless in a POSIX sh: only the sentinel, with no shell kind', async () => {
    const out = await run('dash', ['-i'], [setupLine('abc123'), 'echo still-fine']);
    expect(sentinel('abc123').exec(out)?.[1]).toBe('');
    expect(out).not.toContain('\x1b]133;');
    expect(out).toContain('still-fine');
  });

  it('hides output up to the sentinel, then relays the rest after a line erase', () => {
    const d = new SetupDiverter(sentinel('n1'));
    expect(d.split(Buffer.from('echo of the typed setup line\r\n'))).toEqual([Buffer.from('echo of the typed setup line\r\n'), null]);
    const [hidden, relay] = d.split(Buffer.from('\x1b]6973;ready;n1;ba'));
    expect(hidden?.toString()).toBe('\x1b]6973;ready;n1;ba');
    expect(relay).toBeNull();
    const [h2, r2] = d.split(Buffer.from('sh\x07$ prompt'));
    expect(h2?.toString()).toBe('sh\x07');
    expect(r2?.toString()).toBe('\r\x1b[K$ prompt');
    expect(d.kind).toBe('bash');
    expect(d.passing).toBe(true);
    expect(d.split(Buffer.from('more'))).toEqual([null, Buffer.from('more')]);
  });
});
