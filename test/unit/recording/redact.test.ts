/**
 * Streaming redaction (src/recording/redact.ts): the documented rules, secrets split across chunks
 * and typed one key at a time, and properties (fast-check): never touches an escape sequence or a
 * control character, never loses or adds a byte, masks only printable ASCII, gives the same result
 * however the stream is chunked, keeps every character's time, and leaves text with no trigger alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactText, StreamRedactor, type TimedText } from '../../../src/recording/redact.js';

const KEY_BLOCK = '-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\r\nAAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1\r\n-----END OPENSSH PRIVATE KEY-----\r\n';

/** Feeds `chunks`, each with its index as time; returns the pieces released. */
function feed(chunks: readonly string[], careful = false): TimedText[] {
  const r = new StreamRedactor({ careful });
  const out: TimedText[] = [];
  chunks.forEach((c, i) => out.push(...r.push(c, i)));
  out.push(...r.flush());
  return out;
}
const text = (pieces: readonly TimedText[]): string => pieces.map((p) => p.text).join('');

describe('redaction rules', () => {
  it.each([
    ['AWS access key id', 'aws configure: AKIAIOSFODNN7EXAMPLE set\r\n', 'aws configure: AKIA**************** set\r\n'],
    ['temporary AWS key id at the end of a line', 'id=x ASIAZZZZ1234567890AB\r\n', 'id=x ASIA****************\r\n'],
    ['password=', 'mysql --password=hunter2 -e "select 1"\r\n', 'mysql --password=******* -e "select 1"\r\n'],
    ['token: in YAML', '  token: ghp_abcdefghijklmnop\r\n', '  token: ********************\r\n'],
    ['JSON password', '{"user":"a","password": "s3cr3t!"}\r\n', '{"user":"a","password": "*******"}\r\n'],
    ['env var names containing a keyword', 'DB_PASSWORD=pw1 API_KEY=k2 AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\r\n', 'DB_PASSWORD=*** API_KEY=** AWS_SECRET_ACCESS_KEY=*********************\r\n'],
    ['query string token', 'GET /cb?code=1&access_token=abc.def&x=1\r\n', 'GET /cb?code=1&access_token=*******&x=1\r\n'],
    ['bearer token', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x\r\n', `Authorization: Bearer ${'*'.repeat(43)}\r\n`],
    ['private key block', KEY_BLOCK, KEY_BLOCK.replace(/b3Bl[^\r]*|AAAAAAAAAAE[^\r]*/g, (m) => '*'.repeat(m.length))],
  ])('%s', (_name, input, want) => {
    expect(redactText(input)).toBe(want);
  });

  it('leaves look-alikes alone', () => {
    for (const s of ['AKIAIOSFODNN7EXAMPLEX trailing alnum\r\n', 'XAKIAIOSFODNN7EXAMPLE leading alnum\r\n', 'AKIA1234 too short\r\n', '-----BEGIN PUBLIC KEY-----\r\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\r\n', 'the passage of time: 3 days\r\n']) {
      expect(redactText(s)).toBe(s);
    }
  });

  it('masks a key block that never ends for at most 16 KiB of body, then lets text through again', () => {
    const body = `${'A'.repeat(64)}\r\n`.repeat(300);
    const out = redactText(`-----BEGIN RSA PRIVATE KEY-----\r\n${body}after the bound\r\n`);
    expect(out.slice(0, 40)).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(out.slice(33, 33 + 16 * 1024)).not.toMatch(/A/);
    expect(out.endsWith('after the bound\r\n')).toBe(true);
  });

  it('catches a secret split across chunks and typed one character at a time', () => {
    for (const input of ['export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\r\n', 'curl -u x --password=hunter2 http://x\r\n', KEY_BLOCK, 'Bearer abcdefghijklmnopqrstuvwxyz0123\n']) {
      const whole = redactText(input);
      expect(text(feed([...input]))).toBe(whole);
      for (let cut = 1; cut < input.length; cut++) expect(text(feed([input.slice(0, cut), input.slice(cut)]))).toBe(whole);
    }
  });

  it('holds back only an undecided AWS key id, and releases it with the time it arrived', () => {
    const r = new StreamRedactor();
    // AKIA is held with what follows it (so the trigger is seen again when the hold is decided).
    expect(text(r.push('key AKIA', 1))).toBe('key ');
    expect(r.push('IOSFODNN', 2)).toEqual([]);
    expect(r.pending).toBe(12);
    expect(r.push('7EXAMPLE', 3)).toEqual([]);
    const out = r.push(' done', 4);
    expect(out).toEqual([
      { time: 1, text: 'AKIA' },
      { time: 2, text: '********' },
      { time: 3, text: '********' },
      { time: 4, text: ' done' },
    ]);
  });

  it('never holds back ordinary output (a prompt shows at once)', () => {
    for (const s of ['sandbox$ ', 'password: ', 'Enter token ', 'tail -f /var/log/secret.log', '\x1b[1;32mok\x1b[0m']) {
      const r = new StreamRedactor();
      expect(text(r.push(s, 0))).toBe(s);
      expect(r.pending).toBe(0);
    }
  });

  it('does not look inside escape sequences (a title is not text)', () => {
    expect(redactText('\x1b]0;password=abc\x07password=abc\r\n')).toBe('\x1b]0;password=abc\x07password=***\r\n');
    expect(redactText('token=\x1b[1mabc\x1b[0m\r\n')).toBe('token=\x1b[1mabc\x1b[0m\r\n');
  });

  it('clone() continues exactly where the original is', () => {
    const r = new StreamRedactor();
    r.push('pass: AKIAIOSF', 0);
    const c = r.clone();
    expect(text(c.push('ODNN7EXAMPLE\r\n', 1))).toBe(text(r.push('ODNN7EXAMPLE\r\n', 1)));
  });
});

// ---- properties ----

type Part = { kind: 'text' | 'esc' | 'ctl'; s: string };
const ESCAPES = ['\x1b[31m', '\x1b[0m', '\x1b[2J\x1b[H', '\x1b[?1049h', '\x1b]0;password=abc\x07', '\x1b]52;c;dG9rZW49YWJj\x1b\\', '\x1bP$qm\x1b\\', '\x1b(0', '\x1b7', '\x9b1m', '\x9d2;token=x\x9c', '\x1b[38;5;196m', '\x1b[K'];
const SECRETS = ['password=hunter2', 'token: abc123', 'Bearer eyJhbGciOiJIUzI1NiJ9.x.y', 'AKIAIOSFODNN7EXAMPLE', 'api_key="k3y"', KEY_BLOCK];
const part = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzAKISEBT0123456789 =:"\'-_./é✓'), maxLength: 30 }).map((s): Part => ({ kind: 'text', s })) },
  { weight: 2, arbitrary: fc.constantFrom(...ESCAPES).map((s): Part => ({ kind: 'esc', s })) },
  { weight: 1, arbitrary: fc.constantFrom('\r\n', '\n', '\t', '\b', '\x07').map((s): Part => ({ kind: s === '\t' ? 'text' : 'ctl', s })) },
  { weight: 1, arbitrary: fc.constantFrom(...SECRETS).map((s): Part => ({ kind: 'text', s })) },
);
const stream = fc.array(part, { maxLength: 25 });
const cuts = (s: string) => fc.array(fc.integer({ min: 0, max: Math.max(0, s.length) }), { maxLength: 8 }).map((xs) => [...new Set(xs)].sort((a, b) => a - b));
const split = (s: string, at: readonly number[]): string[] => {
  const out: string[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(s.slice(prev, c));
    prev = c;
  }
  out.push(s.slice(prev));
  return out.filter((x) => x.length > 0);
};

describe('redaction properties', () => {
  it('never changes an escape sequence or control character, never adds or loses a byte, masks only printable ASCII', () => {
    fc.assert(
      fc.property(stream, (parts) => {
        const input = parts.map((p) => p.s).join('');
        const out = redactText(input);
        expect(out.length).toBe(input.length);
        let pos = 0;
        for (const p of parts) {
          if (p.kind !== 'text') expect(out.slice(pos, pos + p.s.length)).toBe(p.s);
          pos += p.s.length;
        }
        for (let i = 0; i < input.length; i++) {
          if (out[i] !== input[i]) {
            expect(out[i]).toBe('*');
            expect(input.charCodeAt(i)).toBeGreaterThan(0x20);
            expect(input.charCodeAt(i)).toBeLessThan(0x7f);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same output however the stream is chunked, and every character keeps its time', () => {
    fc.assert(
      fc.property(
        stream.chain((parts) => {
          const input = parts.map((p) => p.s).join('');
          return fc.tuple(fc.constant(input), cuts(input));
        }),
        ([input, at]) => {
          const chunks = split(input, at);
          const pieces = feed(chunks);
          expect(text(pieces)).toBe(redactText(input));
          // Output position i came from input position i: its time is the index of its chunk.
          const chunkOf: number[] = [];
          chunks.forEach((c, k) => chunkOf.push(...Array<number>(c.length).fill(k)));
          const times: number[] = [];
          for (const p of pieces) times.push(...Array<number>(p.text.length).fill(p.time));
          expect(times).toEqual(chunkOf);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the fast path (whole chunks with nothing to mask) and the careful path agree, chunk by chunk', () => {
    fc.assert(
      fc.property(
        stream.chain((parts) => {
          const input = parts.map((p) => p.s).join('');
          return fc.tuple(fc.constant(input), cuts(input));
        }),
        ([input, at]) => {
          const chunks = split(input, at);
          expect(feed(chunks)).toEqual(feed(chunks, true));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('leaves a stream with nothing that starts a rule exactly as it was', () => {
    fc.assert(
      fc.property(stream, (parts) => {
        const input = parts.map((p) => p.s).join('');
        fc.pre(!/pass|secret|token|api[_-]?key|bearer|AKIA|ASIA|-----BEGIN/i.test(input.replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x9d[^\x9c]*\x9c/g, '')));
        expect(redactText(input)).toBe(input);
      }),
      { numRuns: 300 },
    );
  });

  it('masks every secret value that stands on its own line, whatever surrounds it', () => {
    fc.assert(
      fc.property(stream, fc.constantFrom('password=hunter2', 'token: abc123', 'AKIAIOSFODNN7EXAMPLE', 'Bearer eyJhbGciOiJIUzI1NiJ9'), stream, (before, secret, after) => {
        const input = `${before.map((p) => p.s).join('')}\r\n${secret}\r\n${after.map((p) => p.s).join('')}`;
        const out = redactText(input);
        const start = input.indexOf(`\r\n${secret}\r\n`) + 2;
        expect(out.slice(start, start + secret.length)).not.toMatch(/hunter2|abc123|IOSFODNN7EXAMPLE|eyJhbGci/);
      }),
      { numRuns: 200 },
    );
  });
});
