/** Screen samples of a flood (recording/sample.ts): start at a line, redacted on their own, no orphan key bodies. */
import { describe, expect, it } from 'vitest';
import { sampleText } from '../../../src/recording/sample.js';

describe('sampleText', () => {
  it('starts after the first newline (never inside a character or an escape sequence)', () => {
    const raw = Buffer.concat([Buffer.from('é').subarray(1), Buffer.from('[1mcut\r\nline two\r\n')]);
    expect(sampleText(raw, false)).toBe('line two\r\n');
    expect(sampleText(Buffer.from('no newline at all'), false)).toBe('no newline at all');
  });

  it('redacts secrets in the sample', () => {
    expect(sampleText(Buffer.from('x\r\nexport AWS_KEY=AKIAABCDEFGHIJKLMNOP password=hunter2\r\n'), true)).not.toMatch(/AKIAABCDEFGHIJKLMNOP|hunter2/);
  });

  it('drops the body of a private key whose BEGIN line fell before the sample', () => {
    const raw = Buffer.from('MIIEowIBAAKCAQEA1234\r\nqwertyuiopasdfghjkl\r\n-----END RSA PRIVATE KEY-----\r\n$ ls\r\n');
    const text = sampleText(raw, true);
    expect(text).not.toContain('qwertyuiop');
    expect(text).toContain('$ ls');
    // Without redaction configured, the sample is the output as it was.
    expect(sampleText(raw, false)).toContain('qwertyuiop');
  });

  it('keeps a whole key block masked by the redactor', () => {
    const raw = Buffer.from('x\r\n-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEAAAAA\r\n-----END OPENSSH PRIVATE KEY-----\r\n');
    expect(sampleText(raw, true)).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });
});
