/**
 * Interactive inspection of input that is more than one typed line: pastes (plain and bracketed),
 * continuation lines (backslash, PS2), password prompts, and output arriving while a line is
 * typed. Real OpenSSH client in a PTY → Gatehouse → real sshd → bash.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileScope, testScope } from '../fixtures/scope.js';
import { startSshd, type Sshd } from '../fixtures/sshd.js';
import { openShell } from './inspect-helpers.js';

const files = fileScope();
const scope = testScope();
let sshd: Sshd | undefined;
const target = async (): Promise<Sshd> => (sshd ??= await startSshd(files));

describe('interactive inspection: pastes, continuations, secrets, noise', () => {
  it('judges a multi-line paste line by line; a denied line stops the rest', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    const from = s.t.mark();
    s.t.write(`echo paste-one\recho paste-two\rrm -f ${keep}\recho paste-three\r`);
    await s.t.waitFor('[gatehouse] denied', 10_000, from);
    await s.t.waitFor('bytes typed or pasted after it were dropped', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    expect(s.t.output.slice(from)).toMatch(/\rpaste-one\r\n/);
    expect(s.t.output.slice(from)).toMatch(/\rpaste-two\r\n/);
    expect(s.t.output.slice(from)).not.toMatch(/paste-three/);
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo paste-one'],
      ['command.allowed', 'echo paste-two'],
      ['command.denied', `rm -f ${keep}`],
    ]);
  });

  it('splits a bracketed paste with newlines into lines judged in order (fail closed on a denied one)', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = s.t.mark();
    s.t.write('\x1b[200~echo bp-one\necho bp-two\n\x1b[201~');
    await s.t.waitFor(/\rbp-two\r\n/, 10_000, from);
    await s.prompt(s.t.output.lastIndexOf('bp-two'));
    from = s.t.mark();
    s.t.write(`\x1b[200~echo bp-three\nrm -f ${keep}\necho bp-four\n\x1b[201~`);
    await s.t.waitFor('[gatehouse] denied', 10_000, from);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    expect(s.t.output.slice(from)).toMatch(/\rbp-three\r\n/);
    expect(s.t.output.slice(from)).not.toMatch(/bp-four/);
    expect(existsSync(keep)).toBe(true);
    // A one-line bracketed paste is only inserted; Enter runs it, judged.
    from = s.t.mark();
    s.t.write('\x1b[200~echo bp-single\x1b[201~');
    await s.t.waitFor('bp-single', 5_000, from);
    s.t.write('\r');
    await s.t.waitFor(/\rbp-single\r\n/, 5_000, from);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo bp-one'],
      ['command.allowed', 'echo bp-two'],
      ['command.allowed', 'echo bp-three'],
      ['command.denied', `rm -f ${keep}`],
      ['command.allowed', 'echo bp-single'],
    ]);
  });

  it('judges a backslash-continued command as one logical command', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = s.t.mark();
    s.t.write('echo cont-a \\\r');
    await s.t.waitFor(/> $/, 5_000, from);
    s.t.write('cont-b\r');
    await s.t.waitFor(/\rcont-a cont-b\r\n/, 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('cont-b\r\n'));
    // The continued part carries the denied program: the whole command is denied and abandoned.
    from = s.t.mark();
    s.t.write('echo x; \\\r');
    await s.t.waitFor(/> $/, 5_000, from);
    s.t.write(`rm -f ${keep}\r`);
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo cont-a \\\ncont-b'],
      ['command.denied', `echo x; \\\nrm -f ${keep}`],
    ]);
  });

  it('follows a PS2 prompt (unclosed quote) and judges the complete command', async () => {
    const s = await openShell(scope, { sshd: await target() });
    const keep = join(s.dir, 'keep');
    await writeFile(keep, 'x');
    let from = s.t.mark();
    s.t.write('echo "ps2-first\r');
    await s.t.waitFor(/> $/, 5_000, from);
    s.t.write('ps2-second"\r');
    await s.t.waitFor(/\rps2-first\r\nps2-second\r\n/, 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('ps2-second\r\n'));
    // Nothing ran before the command was complete: `rm` after an unclosed quote is judged whole.
    from = s.t.mark();
    s.t.write(`rm -f ${keep}; echo "open\r`);
    await s.t.waitFor(/> $/, 5_000, from);
    expect(existsSync(keep)).toBe(true);
    s.t.write('close"\r');
    await s.t.waitFor('[gatehouse] denied', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('[gatehouse]'));
    expect(existsSync(keep)).toBe(true);
    expect(await s.commands()).toEqual([
      ['command.allowed', 'echo "ps2-first\nps2-second"'],
      ['command.denied', `rm -f ${keep}; echo "open\nclose"`],
    ]);
  });

  it('does not judge, record or report a password typed at a no-echo prompt', async () => {
    const s = await openShell(scope, { sshd: await target(), allow: (dir) => [`bash ${dir}/ask.sh`] });
    const script = join(s.dir, 'ask.sh');
    const got = join(s.dir, 'got');
    await writeFile(script, `read -s -p 'Password: ' pw\necho\nprintf '%s' "$pw" > ${got}\necho asked-done\n`);
    const from = s.t.mark();
    s.t.write(`bash ${script}\r`);
    await s.t.waitFor('Password: ', 5_000, from);
    s.t.write('s3cret-Pa55\r');
    await s.t.waitFor('asked-done', 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('asked-done'));
    expect(await readFile(got, 'utf8')).toBe('s3cret-Pa55');
    const after = await s.run('echo after-secret');
    await s.t.waitFor('after-secret\r\n', 5_000, after);
    expect(await s.commands()).toEqual([
      ['command.allowed', `bash ${script}`],
      ['command.allowed', 'echo after-secret'],
    ]);
    s.t.write('exit\r');
    await s.t.exited;
    const all = JSON.stringify(await s.h.events());
    expect(all).not.toContain('s3cret');
    const rec = await s.recording();
    expect(rec.input).not.toContain('s3cret');
    expect(rec.output).not.toContain('s3cret');
  });

  it('reads exactly the typed command when background output lands in the middle of it', async () => {
    const s = await openShell(scope, { sshd: await target() });
    await s.run('(sleep 0.3; echo noise-from-background) &');
    const from = s.t.mark();
    s.t.write('ech');
    await s.t.waitFor('noise-from-background', 5_000, from);
    s.t.write('o typed-through-noise\r');
    await s.t.waitFor(/\rtyped-through-noise\r\n/, 5_000, from);
    await s.prompt(s.t.output.lastIndexOf('typed-through-noise\r\n'));
    // Noise without a line break lands on the very row being typed ("echNOISEo ..."): the line
    // is redrawn by the shell before it is read.
    await s.run('(sleep 0.3; printf NOISE) &');
    const again = s.t.mark();
    s.t.write('ech');
    await s.t.waitFor('NOISE', 5_000, again);
    s.t.write('o typed-past-inline-noise\r');
    await s.t.waitFor(/\rtyped-past-inline-noise\r\n/, 5_000, again);
    expect(await s.commands()).toEqual([
      ['command.allowed', '(sleep 0.3; echo noise-from-background) &'],
      ['command.allowed', 'echo typed-through-noise'],
      ['command.allowed', '(sleep 0.3; printf NOISE) &'],
      ['command.allowed', 'echo typed-past-inline-noise'],
    ]);
  });
});
