/**
 * TOTP at session start over keyboard-interactive, with the real OpenSSH client: the key alone is a
 * partial success; a valid code opens the session; a replayed or wrong code is refused.
 */
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { startHarness } from '../fixtures/harness.js';
import { testScope, until } from '../fixtures/scope.js';
import { PtySsh } from '../fixtures/ssh.js';

const scope = testScope();
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const code = (): string => new TOTP({ secret: Secret.fromBase32(SECRET), digits: 6, period: 30, algorithm: 'SHA1' }).generate();
const INTERACTIVE = ['-o', 'LogLevel=INFO', '-o', 'BatchMode=no', '-o', 'KbdInteractiveAuthentication=yes', '-o', 'NumberOfPasswordPrompts=1'];

describe('MFA at session start', () => {
  it('asks for a one-time code after the key; a valid code opens the session, a replay is refused', async () => {
    const h = await startHarness(scope, { userFields: { alice: { totp: SECRET } }, templateFields: { mfa: { session: true } } });
    const g = await h.grant({ targets: ['sandbox'] });
    const first = code();
    const a = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { extra: INTERACTIVE });
    await a.waitFor('One-time code: ');
    expect(a.output).toContain(`Grant ${g.id} requires a one-time code (TOTP)`);
    a.write(`${first}\r`);
    await a.waitFor(/[#$] $/);
    a.write('exit\r');
    expect(await a.exited).toBe(0);

    const b = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { extra: INTERACTIVE });
    await b.waitFor('One-time code: ');
    b.write(`${first}\r`);
    expect(await b.exited).toBe(255);
    expect(b.output).toContain('Permission denied');
    const refused = await until(async () => (await h.events('session.refused')).find((e) => e.data.error === 'GH_ERR_MFA_INVALID'));
    expect(String(refused.data.message)).toContain('already used');
  });

  it('refuses a wrong code and a client that cannot answer (BatchMode)', async () => {
    const h = await startHarness(scope, { userFields: { alice: { totp: SECRET } }, templateFields: { mfa: { session: true } } });
    await h.grant({ targets: ['sandbox'] });
    const a = new PtySsh(scope, h.target('alice', 'alice:sandbox'), { extra: INTERACTIVE });
    await a.waitFor('One-time code: ');
    a.write('000000\r');
    expect(await a.exited).toBe(255);
    const { runSsh } = await import('../fixtures/ssh.js');
    const batch = await runSsh(scope, h.target('alice', 'alice:sandbox'), 'echo hi');
    expect(batch.code).toBe(255);
    expect(batch.stdout.length).toBe(0);
    expect(await h.events('session.start')).toHaveLength(0);
  });
});
