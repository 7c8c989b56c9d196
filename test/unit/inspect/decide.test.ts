import { describe, expect, it } from 'vitest';
import { decideLine, type LineContext } from '../../../src/inspect/decide.js';
import { Prompts } from '../../../src/inspect/prompt.js';
import { compileRules, evaluate } from '../../../src/policy/index.js';
import { FakeScreen } from './fake-screen.js';

const RULES = compileRules({ allow: ['ls *', 'echo *', 'cat *'], deny: ['rm *'], review: ['touch *'] });

function ctx(line: string, over: Partial<LineContext> = {}): LineContext {
  const rows = new FakeScreen(80, 6);
  rows.type(line);
  return { rows, prompts: new Prompts(), current: '$ ', continuation: null, secret: false, dirty: false, known: true, unechoedEdit: false, canRedraw: true, programInput: false, judge: (l) => evaluate(RULES, l), ...over };
}

describe('decideLine', () => {
  it('allows, denies and sends to review what follows the prompt', () => {
    expect(decideLine(ctx('$ ls -la'))).toMatchObject({ kind: 'release', command: 'ls -la', decision: { decision: 'allow' } });
    expect(decideLine(ctx('$ rm -rf /'))).toMatchObject({ kind: 'deny', command: 'rm -rf /' });
    expect(decideLine(ctx('$ touch /x'))).toMatchObject({ kind: 'review', command: 'touch /x' });
  });

  it('releases an empty line without judging it', () => {
    expect(decideLine(ctx('$ '))).toEqual({ kind: 'release', command: null, decision: null, continuation: null });
  });

  it('releases incomplete commands as continuations and judges the complete one whole', () => {
    expect(decideLine(ctx('$ echo "a'))).toEqual({ kind: 'release', command: null, decision: null, continuation: 'echo "a' });
    expect(decideLine(ctx('$ for i in 1 2; do'))).toMatchObject({ kind: 'release', command: null, continuation: 'for i in 1 2; do' });
    expect(decideLine(ctx('$ cat <<EOF'))).toMatchObject({ kind: 'release', continuation: 'cat <<EOF' });
    expect(decideLine(ctx('$ ls |'))).toMatchObject({ kind: 'release', continuation: 'ls |' });
    // A redirection without its word is a syntax error to bash, not a continuation.
    expect(decideLine(ctx('$ ls >'))).toMatchObject({ kind: 'deny', command: 'ls >' });
    expect(decideLine(ctx('$ cat 2>>'))).toMatchObject({ kind: 'deny' });
    expect(decideLine(ctx('> b"', { current: '> ', continuation: 'echo "a' }))).toMatchObject({ kind: 'release', command: 'echo "a\nb"' });
    expect(decideLine(ctx('> rm -rf /', { current: '> ', continuation: 'for i in 1; do' }))).toMatchObject({ kind: 'release', command: null, continuation: 'for i in 1; do\nrm -rf /' });
    expect(decideLine(ctx('> done', { current: '> ', continuation: 'for i in 1; do\nrm -rf /' }))).toMatchObject({ kind: 'deny', command: 'for i in 1; do\nrm -rf /\ndone' });
  });

  it('treats a trailing backslash as a continuation only when the line before it is allowed', () => {
    expect(decideLine(ctx('$ echo a \\'))).toEqual({ kind: 'release', command: null, decision: null, continuation: 'echo a \\' });
    // In a comment the backslash continues nothing: bash would run the line, so it is judged.
    expect(decideLine(ctx('$ rm -rf / # \\'))).toMatchObject({ kind: 'deny', command: 'rm -rf / # \\' });
    expect(decideLine(ctx('$ touch /x \\'))).toMatchObject({ kind: 'deny' });
    expect(decideLine(ctx('> b', { current: '> ', continuation: 'echo a \\' }))).toMatchObject({ kind: 'release', command: 'echo a \\\nb' });
    // A written space after the backslash may or may not be in the line: refuse to guess.
    const spaced = ctx('$ echo a \\');
    (spaced.rows as FakeScreen).trailing[0] = true;
    expect(decideLine(spaced)).toMatchObject({ kind: 'deny', decision: { reasons: [{ why: expect.stringContaining('backslash followed by spaces') }] } });
  });

  it('redraws a dirty or unknown screen, or refuses when it cannot', () => {
    expect(decideLine(ctx('$ ls', { dirty: true }))).toEqual({ kind: 'redraw' });
    expect(decideLine(ctx('$ ls', { known: false }))).toEqual({ kind: 'redraw' });
    expect(decideLine(ctx('$ ls', { dirty: true, canRedraw: false }))).toMatchObject({ kind: 'deny', command: 'ls' });
    expect(decideLine(ctx('! ls', { current: ':', canRedraw: false }))).toMatchObject({ kind: 'deny', decision: { reasons: [{ why: expect.stringContaining('cannot find where the command starts') }] } });
  });

  it('lets a yes/no answer to a program through, and nothing else', () => {
    expect(decideLine(ctx('Continue? [y/N] y', { current: 'Continue? [y/N] ', programInput: true }))).toEqual({ kind: 'release', command: null, decision: null, continuation: null });
    expect(decideLine(ctx('Are you sure (yes/no/[fingerprint])? yes', { current: 'Are you sure (yes/no/[fingerprint])? ', programInput: true }))).toMatchObject({ kind: 'release', command: null });
    expect(decideLine(ctx('$ y', { programInput: false }))).toMatchObject({ kind: 'deny' });
    expect(decideLine(ctx('Continue? [y/N] rm -rf /', { current: 'Continue? [y/N] ', programInput: true }))).toMatchObject({ kind: 'deny' });
  });

  it('refuses typed input that never echoed', () => {
    expect(decideLine(ctx('$ ', { unechoedEdit: true }))).toMatchObject({ kind: 'deny', decision: { reasons: [{ why: expect.stringContaining('did not echo') }] } });
  });

  it('releases a secret only when nothing was echoed after the prompt', () => {
    expect(decideLine(ctx('Password: ', { current: 'Password: ', secret: true, unechoedEdit: true }))).toMatchObject({ kind: 'release', command: null });
    expect(decideLine(ctx('Password: rm -rf /', { current: 'Password: ', secret: true }))).toMatchObject({ kind: 'deny', command: 'rm -rf /' });
  });
});
